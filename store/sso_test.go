package store

import (
	"context"
	"testing"

	"github.com/botdesk/botdesk/models"
)

// TestSSOSignInLinksByEmailInAnyCase: a provider may send the email in
// another case than the account was created with; the verified identity
// links the existing account on both databases (PostgreSQL compares text
// case-sensitively) instead of failing on the duplicate email.
func TestSSOSignInLinksByEmailInAnyCase(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	ann, err := s.CreateUser(ctx, "ann@example.test", models.RoleAgent, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	u, created, err := s.SSOSignIn(ctx, "https://idp.example.test", "sub-1", "Ann@Example.TEST", true, models.RoleAgent)
	if err != nil || created || u.ID != ann.ID {
		t.Fatalf("SSOSignIn = %+v, created %v, %v; want Ann's account linked", u, created, err)
	}
	again, created, err := s.SSOSignIn(ctx, "https://idp.example.test", "sub-1", "other@example.test", true, models.RoleAgent)
	if err != nil || created || again.ID != ann.ID {
		t.Fatalf("second sign-in = %+v, created %v, %v; want the linked subject", again, created, err)
	}
}
