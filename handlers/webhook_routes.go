package handlers

// registerWebhookRoutes is the route table of Configure Webhook, the
// delivery log and the queue API. Everything here is operator+: callback
// settings and the signing secret belong to operators, and queue consumers
// are integrations that get an operator key.
func (s *Server) registerWebhookRoutes(r router) {
	r.get("/channels/:id/webhook/configure", asOperator, s.webhookConfigure)
	r.post("/channels/:id/webhook", asOperator, s.webhookSave)
	r.post("/channels/:id/webhook/test", asOperator, s.webhookTest)
	r.get("/channels/:id/webhook/secret", asOperator, s.webhookSecretMasked)
	r.post("/channels/:id/webhook/secret/reveal", asOperator, s.webhookSecretReveal)
	r.post("/channels/:id/webhook/secret/rotate", asOperator, s.webhookSecretRotate)
	r.get("/channels/:id/webhook/deliveries", asOperator, s.deliveryLog)
	r.post("/channels/:id/webhook/deliveries/:eid/resend", asOperator, s.deliveryResend)

	r.get("/api/v1/channels/:id/webhook", asOperator, s.apiWebhookGet)
	r.put("/api/v1/channels/:id/webhook", asOperator, s.apiWebhookPut)
	r.post("/api/v1/channels/:id/webhook/secret", asOperator, s.apiWebhookRotate)
	r.post("/api/v1/channels/:id/webhook/test", asOperator, s.apiWebhookTest)
	r.get("/api/v1/channels/:id/deliveries", asOperator, s.apiDeliveries)
	r.post("/api/v1/channels/:id/deliveries/:eid/resend", asOperator, s.apiDeliveryResend)
	r.post("/api/v1/queues/:name/receive", asOperator, s.apiQueueReceive)
	r.del("/api/v1/queues/:name/messages/:receipt", asOperator, s.apiQueueAck)
}
