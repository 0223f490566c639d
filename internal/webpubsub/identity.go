package webpubsub

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/huddle-dev/huddle/internal/auth/oidc"
	"github.com/huddle-dev/huddle/internal/httpapi"
)

// access is what a REST operation needs of an identity token's roles. A token signed with an
// access key has no roles: the key grants everything, as it does in Azure.
type access int

const (
	// readAccess covers existence checks, group listings and permission checks: Azure's data
	// actions Microsoft.SignalRService/WebPubSub/*/read, all the "Web PubSub Service Reader"
	// built-in role grants.
	readAccess access = iota + 1
	// fullAccess covers every operation: Microsoft.SignalRService/WebPubSub/*, what the
	// "Web PubSub Service Owner" built-in role grants.
	fullAccess
)

// identityRoles are the values of an identity token's roles claim that grant access: Azure's
// built-in data-plane roles, by the identifier its SDKs name them with (Entra ID app role values
// cannot hold spaces) or by their display name (for providers whose roles can). Other values
// grant nothing.
var identityRoles = map[string]access{
	"WebPubSubServiceOwner":     fullAccess,
	"Web PubSub Service Owner":  fullAccess,
	"WebPubSubServiceReader":    readAccess,
	"Web PubSub Service Reader": readAccess,
}

// identityProblems are the refusals of an identity token whose own text is told to the caller.
var identityProblems = []error{
	oidc.ErrTokenExpired, oidc.ErrTokenNotYetValid, oidc.ErrTokenIssuer, oidc.ErrTokenAudience, oidc.ErrTokenInvalid,
}

// authorizeIdentity checks an identity provider's access token and that its roles grant need.
func (s *Server) authorizeIdentity(r *http.Request, token string, need access) error {
	id, err := s.identities.Verify(r.Context(), token)
	switch {
	case errors.Is(err, oidc.ErrUnavailable):
		return httpapi.AzureError(http.StatusServiceUnavailable, "ServiceUnavailable",
			"the identity provider that issues this service's access tokens cannot be reached; retry later",
			fmt.Errorf("REST identity token not checked: %w", err))
	case err != nil:
		return unauthorized(err)
	}
	var granted access
	for _, role := range id.Roles {
		granted = max(granted, identityRoles[role])
	}
	if granted >= need {
		return nil
	}
	msg := "the access token's roles do not allow this operation: it needs the WebPubSubServiceOwner role"
	if need == readAccess {
		msg = "the access token's roles do not allow this operation: it needs the WebPubSubServiceReader or WebPubSubServiceOwner role"
	}
	return httpapi.AzureError(http.StatusForbidden, "Forbidden", msg,
		fmt.Errorf("REST identity %q with roles %q may not %s %s", id.Subject, id.Roles, r.Method, r.URL.Path))
}
