"""Token signing keys: generation, encryption at rest, rotation and the public JWKS."""
