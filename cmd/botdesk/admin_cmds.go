package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// parseRoleCommand parses the shared config flags plus --role and one
// command-specific string flag (--email or --name).
func parseRoleCommand(name string, args []string, stderr io.Writer, flagName, flagHelp string) (*config, string, models.Role, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := bindConfig(fs)
	value := fs.String(flagName, "", flagHelp)
	roleStr := fs.String("role", "", "admin, operator or agent")
	if err := fs.Parse(args); err != nil {
		return nil, "", "", errUsage
	}
	if err := finish(); err != nil {
		return nil, "", "", err
	}
	role, err := models.ParseRole(*roleStr)
	if err != nil {
		return nil, "", "", err
	}
	return cfg, *value, role, nil
}

func cmdUserAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, email, role, err := parseRoleCommand("user add", args, stderr, "email", "email address of the new user")
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "Password (read from stdin, one line):")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL})
	if err != nil {
		return err
	}
	defer st.Close()
	var u *models.User
	err = st.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = st.CreateUser(ctx, email, role, password); err != nil {
			return err
		}
		return st.Audit(ctx, store.Actor{Name: "cli"}, "user.create", "user", u.Email, "role "+string(u.Role)+" via botdesk user add")
	})
	if err != nil {
		if v, ok := models.AsValidation(err); ok {
			return fmt.Errorf("%s: %s", v.Field, v.Message)
		}
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a user with email %s already exists", email)
		}
		return err
	}
	fmt.Fprintf(stderr, "Created %s user %s.\n", u.Role, u.Email)
	return nil
}

func cmdAPIKeyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, name, role, err := parseRoleCommand("apikey create", args, stderr, "name", "a name for the key")
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL})
	if err != nil {
		return err
	}
	defer st.Close()
	var key string
	var k *models.APIKey
	err = st.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if key, k, err = st.CreateAPIKey(ctx, name, role, nil); err != nil {
			return err
		}
		return st.Audit(ctx, store.Actor{Name: "cli"}, "apikey.create", "apikey", k.Prefix, k.Name+" ("+string(k.Role)+")")
	})
	if err != nil {
		if v, ok := models.AsValidation(err); ok {
			return fmt.Errorf("%s: %s", v.Field, v.Message)
		}
		return err
	}
	fmt.Fprintf(stderr, "Created %s API key %q. It is shown once:\n", k.Role, k.Name)
	fmt.Fprintln(stdout, key)
	return nil
}
