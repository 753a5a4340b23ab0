package handlers

// Single sign-on against a real OIDC provider started in the test
// (github.com/oauth2-proxy/mockoidc: discovery, JWKS, authorize and token
// endpoints with PKCE), driven over HTTP like a browser.

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/sso"
)

// oidcUser is a provider account with a role claim and hooks to spoil
// its ID token.
type oidcUser struct {
	sub, email string
	verified   bool
	groups     []string
	edit       func(*mockoidc.IDTokenClaims)
}

func (u *oidcUser) ID() string { return u.sub }
func (u *oidcUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email})
}
func (u *oidcUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.edit != nil {
		u.edit(base)
	}
	return &struct {
		*mockoidc.IDTokenClaims
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		Groups        []string `json:"desk_roles"`
	}{base, u.email, u.verified, u.groups}, nil
}

type ssoEnv struct {
	*testEnv
	idp *mockoidc.MockOIDC
}

func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The JWKS always publishes the provider's own key, so a token signed
	// with any other key ("bad signature") cannot verify.
	published := idp.Keypair
	if err := idp.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.JWKSEndpoint {
				b, err := published.JWKS()
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(b)
				return
			}
			next.ServeHTTP(w, r)
		})
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	p, err := sso.New(sso.Config{Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RoleClaim: "desk_roles",
		RoleMap: map[string]models.Role{"desk-admins": models.RoleAdmin, "support": models.RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	env := newTestEnvWith(t, func(d *Deps) { d.SSO = p })
	return &ssoEnv{testEnv: env, idp: idp}
}

// signIn runs the whole flow for user in a fresh browser and returns the
// client and the callback's response.
func (e *ssoEnv) signIn(t *testing.T, u *oidcUser) (*testClient, *testResponse) {
	t.Helper()
	c := e.anonClient(t)
	r := c.get("/auth/oidc/login").wantStatus(t, http.StatusSeeOther)
	e.idp.QueueUser(u)
	return c, e.followIdP(t, c, r.location())
}

// followIdP visits the provider's authorize URL and comes back to the
// callback it redirects to.
func (e *ssoEnv) followIdP(t *testing.T, c *testClient, authURL string) *testResponse {
	t.Helper()
	au, _ := url.Parse(authURL)
	if q := au.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorize URL lacks PKCE, nonce or state: %s", authURL)
	}
	resp, err := c.HTTP.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("provider answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c.get(cb.RequestURI())
}

func TestSSOSignIn(t *testing.T) {
	t.Parallel()
	e := newSSOEnv(t)
	ctx := context.Background()

	t.Run("login page offers SSO", func(t *testing.T) {
		doc := e.anonClient(t).get("/login").wantStatus(t, http.StatusOK).doc(t)
		if href, _ := doc.Find(`a[data-testid="sso-login"]`).Attr("href"); href != "/auth/oidc/login" {
			t.Errorf("Sign in with SSO link = %q", href)
		}
	})
	t.Run("first sign-in creates the user with the mapped role", func(t *testing.T) {
		c, r := e.signIn(t, &oidcUser{sub: "u-1", email: "Ann@Example.test", verified: true, groups: []string{"support"}})
		r.wantStatus(t, http.StatusSeeOther)
		c.get("/workbench").wantStatus(t, http.StatusOK)
		u, err := e.Store.UserByEmail(ctx, "ann@example.test")
		if err != nil || u.Role != models.RoleAgent || u.PasswordLogin {
			t.Fatalf("user = %+v, %v; want an agent without password sign-in", u, err)
		}
		e.wantAudit(t, "user.create", "ann@example.test")
		// No local password: the password form cannot sign this account in.
		e.anonClient(t).postForm("/login", url.Values{"email": {"ann@example.test"}, "password": {""}}).wantStatus(t, http.StatusUnauthorized)
	})
	t.Run("a later sign-in follows the role", func(t *testing.T) {
		c, r := e.signIn(t, &oidcUser{sub: "u-1", email: "ann@example.test", verified: true, groups: []string{"support", "desk-admins"}})
		r.wantStatus(t, http.StatusSeeOther)
		c.get("/users").wantStatus(t, http.StatusOK)
	})
	t.Run("unknown role is refused and creates nothing", func(t *testing.T) {
		_, r := e.signIn(t, &oidcUser{sub: "u-2", email: "bob@example.test", verified: true, groups: []string{"marketing"}})
		r.wantStatus(t, http.StatusForbidden)
		if msg := r.text(t, `[data-testid="login-error"]`); !strings.Contains(msg, "no botdesk role") {
			t.Errorf("refusal %q", msg)
		}
		if _, err := e.Store.UserByEmail(ctx, "bob@example.test"); err == nil {
			t.Error("a user was created without a mapped role")
		}
	})
	for _, tc := range []struct {
		name string
		edit func(*mockoidc.IDTokenClaims)
	}{
		{"wrong audience", func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }},
		{"expired token", func(c *mockoidc.IDTokenClaims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
		}},
		{"wrong nonce", func(c *mockoidc.IDTokenClaims) { c.Nonce = "not-the-nonce" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r := e.signIn(t, &oidcUser{sub: "u-3", email: "carl@example.test", verified: true, groups: []string{"support"}, edit: tc.edit})
			r.wantStatus(t, http.StatusUnauthorized)
			c.get("/workbench").wantStatus(t, http.StatusSeeOther) // not signed in
			if _, err := e.Store.UserByEmail(ctx, "carl@example.test"); err == nil {
				t.Error("a user was created from a bad token")
			}
		})
	}
	t.Run("bad signature", func(t *testing.T) {
		// Same provider, but the token is signed with a key it never published.
		good := e.idp.Keypair
		other, err := mockoidc.RandomKeypair(2048)
		if err != nil {
			t.Fatal(err)
		}
		if other.Kid, err = good.KeyID(); err != nil { // claims to be the published key
			t.Fatal(err)
		}
		c := e.anonClient(t)
		r := c.get("/auth/oidc/login").wantStatus(t, http.StatusSeeOther)
		e.idp.QueueUser(&oidcUser{sub: "u-4", email: "dan@example.test", verified: true, groups: []string{"support"}})
		e.idp.Keypair = other
		defer func() { e.idp.Keypair = good }()
		res := e.followIdP(t, c, r.location())
		res.wantStatus(t, http.StatusUnauthorized)
		if _, err := e.Store.UserByEmail(ctx, "dan@example.test"); err == nil {
			t.Error("a user was created from a forged token")
		}
	})
	t.Run("replayed state", func(t *testing.T) {
		c := e.anonClient(t)
		r := c.get("/auth/oidc/login").wantStatus(t, http.StatusSeeOther)
		e.idp.QueueUser(&oidcUser{sub: "u-5", email: "eve@example.test", verified: true, groups: []string{"support"}})
		resp, err := c.HTTP.Get(r.location())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb, _ := url.Parse(resp.Header.Get("Location"))
		c.get(cb.RequestURI()).wantStatus(t, http.StatusSeeOther)
		// The same callback again, with the state cookie put back.
		jar, _ := cookiejar.New(nil)
		thief := &testClient{t: t, env: e.testEnv, HTTP: &http.Client{Jar: jar, CheckRedirect: c.HTTP.CheckRedirect}}
		thief.setCookie("bd_oidc", cb.Query().Get("state"))
		again := thief.get(cb.RequestURI()).wantStatus(t, http.StatusBadRequest)
		if msg := again.text(t, `[data-testid="login-error"]`); !strings.Contains(msg, "already used") {
			t.Errorf("replay message %q", msg)
		}
		// A callback without this browser's state cookie is refused too.
		e.anonClient(t).get(cb.RequestURI()).wantStatus(t, http.StatusBadRequest)
	})
	t.Run("domain not allowed", func(t *testing.T) {
		p, _ := sso.New(sso.Config{Issuer: e.idp.Issuer(), ClientID: e.idp.ClientID, ClientSecret: e.idp.ClientSecret, RoleClaim: "desk_roles",
			RoleMap: map[string]models.Role{"support": models.RoleAgent}, AllowedDomains: []string{"corp.example"}})
		e2 := &ssoEnv{testEnv: newTestEnvWith(t, func(d *Deps) { d.SSO = p }), idp: e.idp}
		_, r := e2.signIn(t, &oidcUser{sub: "u-6", email: "fay@example.test", verified: true, groups: []string{"support"}})
		r.wantStatus(t, http.StatusForbidden)
	})
}
