"""Events out of dashcam: the hub that fans them out, MQTT (with Home Assistant
discovery) and webhooks. The event model itself is ``domain.events``."""
