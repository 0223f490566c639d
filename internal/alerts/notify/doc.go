// Package notify sends alert notifications and automated reactions: contact points (a generic
// webhook, Alertmanager's API v2, Slack- and Microsoft Teams-compatible incoming webhooks, e-mail
// over SMTP, and a Web PubSub message to a hub's group), chosen by notification policies with
// Alertmanager's label matchers, grouped, repeated and silenced as Alertmanager does, with every
// attempt kept in a delivery log.
//
// What it guarantees:
//
//   - [Dispatcher.Notify] never blocks on delivery: it only updates in-memory groups under a
//     lock that no network call holds. A hung or slow receiver delays nothing but later
//     notifications to its own contact point.
//   - Each contact point has one worker and a bounded queue (Options.QueueSize). When the queue
//     is full, the new notification is dropped: its alerts get a "dropped" delivery and the drop
//     is logged once until the queue has room again. Notifications to one contact point go out
//     in the order their groups flushed them.
//   - Each attempt is bounded by the contact point's timeout; network errors, timeouts, 5xx and
//     429 answers (and SMTP 4xx replies) are retried with exponential back-off up to the contact
//     point's attempts; other answers are final at once.
//   - Every attempt, and every alert silenced or dropped, is recorded per alert in SQL before
//     Options.OnDelivery hears of it.
//   - Secrets (passwords, tokens, HMAC secrets, webhook header values, Slack and Teams URLs) are
//     never answered by the API: they read as [Mask], and an update that sends [Mask] back keeps
//     the stored value.
//   - [Dispatcher.Stop] flushes no more groups, lets attempts under way finish (or cancels them
//     when its context ends) and makes no further retries; queued notifications are dropped and
//     logged.
//
// Routing is an ordered list of policies under a default one, rather than Alertmanager's tree:
// one level reads the same in a form and in JSON, and covers "first match wins" and "continue"
// without rules for inheriting through several levels. A route's unset fields take the default
// policy's. Alert state is kept in memory only, as in an Alertmanager without peers: after a
// restart firing alerts are announced again after group_wait.
package notify
