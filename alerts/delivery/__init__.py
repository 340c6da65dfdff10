"""Alert delivery through a transactional outbox: Slack (Block Kit) and generic JSON webhooks, routed per brand.

    enqueue.add_alert / enqueue.enqueue_state_change   write deliveries in the alert's transaction
    sender.send_pass(engine, settings)                 one delivery pass (`brandpulse alerts send`, the run loop)
    routing                                            the [delivery] config: destinations, routes, public_url
    slack, webhook                                     the destinations; escape: inert post text for Slack
"""
