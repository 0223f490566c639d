// Package dashboard keeps huddle's dashboards and their annotations in the SQL store and serves
// their HTTP API: dashboards as Grafana-like JSON models (panels of PromQL targets on a 24-column
// grid), with list, create, read, save, delete, export and import, Grafana's dashboard JSON
// included ([ConvertGrafana]); annotations of points and ranges, with text and tags, queryable
// by dashboard, time range and tag.
//
// What it guarantees:
//
//   - Every model is validated before it is stored, and a request naming a field the model does
//     not have, a panel type it cannot draw or a value out of bounds is refused with 400 naming
//     the field (Grafana's JSON aside, below); request bodies are bounded (413 states the limit).
//   - Saves are optimistic: a save carries the version it was based on and is refused with 409,
//     naming the current version, when someone saved in between. Nothing is overwritten unseen;
//     import replaces a dashboard only when asked to (overwrite).
//   - Write, then notify: a change is committed first, then announced to the dashboard's viewers
//     as one JSON [Event] on its metrics group (see [Notifier]). A failed write announces
//     nothing; a failed announcement is logged and the write still succeeds, because clients
//     resync after a reconnect: dashboards by version, annotations by change number (seq, and
//     since= in the annotation list, deletions included).
//   - A Grafana dashboard imports as far as it converts, its unknown fields ignored, and the
//     answer lists, one line each, the panels, queries, variables and settings that did not (but
//     for display options without an equivalent here; see [ConvertGrafana]).
//   - Variables are substituted here only, with Grafana's semantics ([Dashboard.Expand]): the
//     browser loads history from the expansion GET /api/dashboards/{uid}/queries answers for its
//     range, and the live scheduler evaluates the expansion of the dashboard's own range
//     ([Service.ExpandOwnRange]). Both carry the same key when they are the same queries.
//   - Viewers see; editors (per dashboard, overrides included) write dashboards and annotations,
//     anyone's annotations included. Every route is declared in [Service.Routes] with its role
//     and API key scope.
//   - Text is stored as written and answered only as JSON (application/json), never as HTML: the
//     UI renders it as text.
//   - The "This host" dashboard is provisioned once per database ([Service.Provision]).
package dashboard
