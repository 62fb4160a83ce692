"""Each service is its own audience (RFC 8707, docs/adr/0008-audience-per-service.md): a token requested
for intake works at intake and is refused by notifications, with 401 and WWW-Authenticate."""

from __future__ import annotations

import httpx

from comitas_shared.auth import service_audience
from comitas_shared.testing import ServedApp


async def token_for(stack, credentials, resource: str) -> str:
    response = await stack.http.post(f"{stack.identity.url}/oauth/token",
                                     data={"grant_type": "client_credentials", "resource": resource},
                                     auth=(credentials.client_id, credentials.client_secret))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_a_token_for_intake_is_refused_by_notifications(stack):
    from comitas_intake.main import create_app as create_intake
    from comitas_notifications.main import create_app as create_notifications

    # Replicas of the stack's services that know their own resource identifiers.
    intake = await ServedApp(create_intake(stack.intake.app.state.settings.model_copy(
        update={"audience": service_audience("intake")}))).start()
    notifications = await ServedApp(create_notifications(stack.notifications.app.state.settings.model_copy(
        update={"audience": service_audience("notifications")}))).start()
    try:
        institution = await stack.new_institution()
        for_intake = {"Authorization": f"Bearer {await token_for(stack, institution, service_audience('intake'))}"}
        for_notifications = {"Authorization":
                             f"Bearer {await token_for(stack, institution, service_audience('notifications'))}"}
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{intake.url}/v1/complaints", headers=for_intake)).status_code == 200
            refused = await http.get(f"{notifications.url}/v1/subscriptions", headers=for_intake)
            assert refused.status_code == 401
            assert 'error_description="aud"' in refused.headers["www-authenticate"]
            assert (await http.get(f"{notifications.url}/v1/subscriptions",
                                   headers=for_notifications)).status_code == 200
            assert (await http.get(f"{intake.url}/v1/complaints", headers=for_notifications)).status_code == 401
    finally:
        await notifications.stop()
        await intake.stop()
