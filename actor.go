package vigil

import "context"

// Role names. Roles are granted to accounts and checked by access policies.
const (
	RoleAdmin = "admin"
)

// Actor is who is calling: the account and the session that authenticated
// the request. Handlers never build one; the authentication middleware puts
// it in the request context once the credential checked out.
type Actor struct {
	AccountID string
	SessionID string
	TokenHash TokenHash // of the credential that authenticated the request
	Roles     []string
	IP        string
	UserAgent string
	// MFA reports that the session was signed in with a second factor.
	MFA bool
	// CLI marks the operator at the server's console (vigil admin ...):
	// no account, no session, trusted as an admin because it holds the
	// database and the secret key.
	CLI bool
}

// CLIActor is the actor of commands run by an operator at the server.
func CLIActor() *Actor { return &Actor{CLI: true, Roles: []string{RoleAdmin}} }

// HasRole reports whether the actor holds role.
func (a *Actor) HasRole(role string) bool {
	if a == nil {
		return false
	}
	for _, r := range a.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type actorKey struct{}

// NewContextWithActor returns a copy of ctx that carries a.
func NewContextWithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor in ctx, or nil if the caller is
// anonymous.
func ActorFromContext(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// Client describes where a request came from, for records and throttling.
// It is known for anonymous callers too.
type Client struct {
	IP        string
	UserAgent string
}

type clientKey struct{}

// NewContextWithClient returns a copy of ctx that carries c.
func NewContextWithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFromContext returns the client in ctx (zero if none).
func ClientFromContext(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}
