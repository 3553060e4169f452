-- A delivery keeps the W3C trace context of the request that caused it, so the worker's
-- POST joins that request's trace although a dispatcher hands it out later.
ALTER TABLE webhook_deliveries ADD COLUMN traceparent text;
