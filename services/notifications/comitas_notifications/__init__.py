"""notifications: webhook subscriptions and deliveries, legal deadlines with durable reminders, the inbox."""
