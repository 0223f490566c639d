package webpubsub

import "slices"

// Group state (setGroupState, subscribeGroupState, unsubscribeGroupState upstream, answered by
// groupStateSnapshot and groupStateUpdate) is defined only by the client SDK's message types
// (@azure/web-pubsub-client models/messages.d.ts, groupStateManager.ts). The service's rules for
// it are not published: who may set a group's state, how large a state may be, whether a setter
// or a subscriber must be a member, and what a leave or a disconnect does to a connection's item.
// Rather than invent them, the requests are refused as a request the service cannot serve.
var groupStateTypes = []string{"setGroupState", "subscribeGroupState", "unsubscribeGroupState"}

// refuseGroupState refuses a group state request with a BadRequest ack. A request without an
// ackId was fire-and-forget, and the client spec (Azure/azure-webpubsub
// protocols/client/client-spec.md, "ackId and ack response") says such a request gives no notice
// of errors: unlike a malformed message it does not end the connection (see unserved).
func refuseGroupState(typ string) *requestError {
	return &requestError{ackBadRequest, "group state (" + typ + ") is not supported by this service"}
}

// unserved reports whether typ is a request type the service defines and this server refuses.
func unserved(typ string) bool { return slices.Contains(groupStateTypes, typ) }
