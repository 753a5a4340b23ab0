// Package sso is botdesk's OpenID Connect single sign-on: the
// authorization code flow with PKCE against the provider of
// BOTDESK_OIDC_ISSUER, verification of the ID token (signature, issuer,
// audience, expiry, nonce) and the mapping of its claims to a botdesk
// identity and role. It keeps no state: the handlers store the one-time
// state, nonce and PKCE verifier.
package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/botdesk/botdesk/models"
)

// Config is the BOTDESK_OIDC_* settings.
type Config struct {
	Issuer, ClientID, ClientSecret string
	// RoleClaim names the claim holding the user's groups or roles (a
	// string or a list); "" means "groups".
	RoleClaim string
	// RoleMap maps claim values to botdesk roles (BOTDESK_OIDC_ROLE_MAP).
	RoleMap map[string]models.Role
	// AllowedDomains, when not empty, are the only e-mail domains let in.
	AllowedDomains []string
	// HTTPClient talks to the provider; nil means a client with a timeout.
	HTTPClient *http.Client
}

// ParseRoleMap reads "desk-admins=admin,support=agent".
func ParseRoleMap(v string) (map[string]models.Role, error) {
	out := map[string]models.Role{}
	for _, pair := range strings.Split(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, r, ok := strings.Cut(pair, "=")
		role, err := models.ParseRole(strings.TrimSpace(r))
		if !ok || strings.TrimSpace(k) == "" || err != nil {
			return nil, fmt.Errorf("BOTDESK_OIDC_ROLE_MAP: %q is not value=admin|operator|agent", pair)
		}
		out[strings.TrimSpace(k)] = role
	}
	return out, nil
}

// Identity is who the provider says signed in.
type Identity struct {
	Issuer, Subject string
	Email           string
	EmailVerified   bool
	// Role is the highest role any claim value maps to; "" when none does.
	Role models.Role
}

// Refusals the login page explains in plain words.
var (
	ErrNoRole   = errors.New("sso: no botdesk role is mapped to this account")
	ErrDomain   = errors.New("sso: e-mail domain not allowed")
	ErrNoEmail  = errors.New("sso: the provider sent no e-mail address")
	ErrToken    = errors.New("sso: the provider's answer could not be verified")
	ErrProvider = errors.New("sso: the provider could not be reached")
)

// Provider is a lazily discovered OIDC provider: botdesk starts even when
// the provider is down, and sign-in retries discovery.
type Provider struct {
	cfg Config

	mu       sync.Mutex
	provider *oidc.Provider
}

// New checks cfg and returns the provider; discovery happens on first use.
func New(cfg Config) (*Provider, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("sso: BOTDESK_OIDC_ISSUER and BOTDESK_OIDC_CLIENT_ID are required for single sign-on")
	}
	if len(cfg.RoleMap) == 0 {
		return nil, errors.New("sso: BOTDESK_OIDC_ROLE_MAP is empty: no one could sign in")
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "groups"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	for i, d := range cfg.AllowedDomains {
		cfg.AllowedDomains[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
	}
	return &Provider{cfg: cfg}, nil
}

func (p *Provider) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.cfg.HTTPClient)
}

func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	op, err := oidc.NewProvider(p.ctx(ctx), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery: %v", ErrProvider, err)
	}
	p.provider = op
	return op, nil
}

func (p *Provider) oauth(op *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: redirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// AuthURL is where the browser goes to sign in: state and nonce are the
// caller's one-time values, verifier its PKCE secret (S256 is sent).
func (p *Provider) AuthURL(ctx context.Context, redirectURL, state, nonce, verifier string) (string, error) {
	op, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return p.oauth(op, redirectURL).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange trades the code for tokens and verifies the ID token: signature
// against the provider's keys, issuer, audience (our client id), expiry,
// and that its nonce is the one this sign-in started with.
func (p *Provider) Exchange(ctx context.Context, redirectURL, code, verifier, nonce string) (Identity, error) {
	op, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := p.oauth(op, redirectURL).Exchange(p.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: code exchange: %v", ErrToken, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, fmt.Errorf("%w: no id_token in the token response", ErrToken)
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID}).Verify(p.ctx(ctx), raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: id_token: %v", ErrToken, err)
	}
	if idt.Nonce == "" || idt.Nonce != nonce {
		return Identity{}, fmt.Errorf("%w: id_token nonce does not match this sign-in", ErrToken)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %v", ErrToken, err)
	}
	return p.identity(idt.Issuer, idt.Subject, claims)
}

// identity applies the claim rules of DESIGN.md: the user is the email
// claim, the role comes from RoleClaim through RoleMap, the domain must be
// allowed.
func (p *Provider) identity(issuer, subject string, claims map[string]any) (Identity, error) {
	id := Identity{Issuer: issuer, Subject: subject}
	id.Email, _ = claims["email"].(string)
	id.Email = strings.ToLower(strings.TrimSpace(id.Email))
	switch v := claims["email_verified"].(type) {
	case bool:
		id.EmailVerified = v
	case string:
		id.EmailVerified = v == "true"
	}
	if id.Email == "" {
		return id, ErrNoEmail
	}
	if len(p.cfg.AllowedDomains) > 0 {
		_, domain, _ := strings.Cut(id.Email, "@")
		if !slices.Contains(p.cfg.AllowedDomains, domain) {
			return id, ErrDomain
		}
	}
	for _, v := range claimValues(claims[p.cfg.RoleClaim]) {
		if r, ok := p.cfg.RoleMap[v]; ok && (id.Role == "" || r.AtLeast(id.Role)) {
			id.Role = r
		}
	}
	if id.Role == "" {
		return id, ErrNoRole
	}
	return id, nil
}

// claimValues reads a claim that is a string or a list of strings.
func claimValues(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
