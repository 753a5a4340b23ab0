package models

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{"admin": RoleAdmin, " Operator ": RoleOperator, "AGENT": RoleAgent} {
		got, err := ParseRole(in)
		if err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "root", "admins", "viewer"} {
		if _, err := ParseRole(in); err == nil {
			t.Errorf("ParseRole(%q) accepted", in)
		}
	}
}

func TestRoleAtLeast(t *testing.T) {
	// rows: the caller's role; columns: the route's minimum role.
	want := map[Role]map[Role]bool{
		RoleAdmin:    {RoleAdmin: true, RoleOperator: true, RoleAgent: true},
		RoleOperator: {RoleAdmin: false, RoleOperator: true, RoleAgent: true},
		RoleAgent:    {RoleAdmin: false, RoleOperator: false, RoleAgent: true},
		"":           {RoleAdmin: false, RoleOperator: false, RoleAgent: false},
		"root":       {RoleAdmin: false, RoleOperator: false, RoleAgent: false},
	}
	for have, row := range want {
		for min, ok := range row {
			if got := have.AtLeast(min); got != ok {
				t.Errorf("%q.AtLeast(%q) = %v, want %v", have, min, got, ok)
			}
		}
	}
	// An unknown minimum must not let an unknown role through.
	if Role("").AtLeast("") {
		t.Error(`"".AtLeast("") = true`)
	}
}

func TestValidationError(t *testing.T) {
	err := fmt.Errorf("store: wrap: %w", Invalid("name", "Enter a channel name."))
	v, ok := AsValidation(err)
	if !ok || v.Field != "name" || v.Message != "Enter a channel name." {
		t.Fatalf("AsValidation = %+v, %v", v, ok)
	}
	if _, ok := AsValidation(errors.New("plain")); ok {
		t.Error("plain error taken for a validation error")
	}
}

func TestCleanChannelName(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "Support", "Support", true},
		{"trimmed", "  Sales EU  ", "Sales EU", true},
		{"longest in characters", strings.Repeat("é", MaxChannelName), strings.Repeat("é", MaxChannelName), true}, // characters, not bytes
		{"empty", "", "", false},
		{"only spaces", "   ", "", false},
		{"too long", strings.Repeat("x", MaxChannelName+1), "", false},
		{"tab", "tab\there", "", false},
		{"NUL", "nul\x00", "", false},
		{"DEL", "del\x7f", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CleanChannelName(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("CleanChannelName(%q) = %q, %v", tc.in, got, err)
			}
			if err != nil {
				if v, ok := AsValidation(err); !ok || v.Field != "name" || v.Message == "" {
					t.Errorf("CleanChannelName(%q) error %v is not a name validation error", tc.in, err)
				}
			}
		})
	}
}

func TestChannelIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		id, err := NewChannelID()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidChannelID(id) {
			t.Fatalf("NewChannelID() = %q is not valid", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	for _, id := range []string{"", "tg-", "tg-aaaaaaaaa", "tg-aaaaaaaaaaa", "tg-AAAAAAAAAA", "tg-aaaaaaaaa1", "xx-aaaaaaaaaa", "tg-aaaaaaaaaa/"} {
		if ValidChannelID(id) {
			t.Errorf("ValidChannelID(%q) = true", id)
		}
	}
}

func TestCleanEmail(t *testing.T) {
	if got, err := CleanEmail("  Ann@Example.COM "); err != nil || got != "ann@example.com" {
		t.Errorf("CleanEmail = %q, %v", got, err)
	}
	for _, bad := range []string{"", "ann", "ann@", "@example.com", "a b@example.com", "ann@example", strings.Repeat("a", 250) + "@x.io"} {
		if _, err := CleanEmail(bad); err == nil {
			t.Errorf("CleanEmail(%q) accepted", bad)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	if err := CheckPassword(strings.Repeat("x", MinPassword)); err != nil {
		t.Errorf("minimum length refused: %v", err)
	}
	for _, bad := range []string{"", strings.Repeat("x", MinPassword-1), strings.Repeat("x", 1025)} {
		if v, ok := AsValidation(CheckPassword(bad)); !ok || v.Field != "password" {
			t.Errorf("CheckPassword(len %d) = %v", len(bad), v)
		}
	}
}

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Errorf("hash %q is not argon2id", h)
	}
	if ok, err := VerifyPassword(h, "correct horse"); !ok || err != nil {
		t.Errorf("right password: %v, %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "correct horsE"); ok {
		t.Error("wrong password verified")
	}
	if h2, _ := HashPassword("correct horse"); h2 == h {
		t.Error("two hashes of one password are equal (no salt)")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=x$a$b", "$bcrypt$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"} {
		if _, err := VerifyPassword(bad, "x"); !errors.Is(err, ErrBadHash) {
			t.Errorf("VerifyPassword(%q) err = %v, want ErrBadHash", bad, err)
		}
	}
}

// The login handler verifies unknown emails against DummyHash so both take
// the same time: DummyHash must parse (else it returns at once) and match
// nothing.
func TestDummyHashParsesAndMatchesNothing(t *testing.T) {
	for _, pw := range []string{"", "password", "correct horse"} {
		ok, err := VerifyPassword(DummyHash, pw)
		if err != nil || ok {
			t.Errorf("VerifyPassword(DummyHash, %q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}
