package store

import (
	"context"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// APIKeyPrefix starts every key, so leaked keys are recognisable.
const APIKeyPrefix = "bdk_"

// CreateAPIKey makes a key and returns it in clear once; only its hash is kept.
func (s *Store) CreateAPIKey(ctx context.Context, name string, role models.Role, createdBy *int64) (string, *models.APIKey, error) {
	if name == "" || len(name) > 64 {
		return "", nil, models.Invalid("name", "Name the key (1–64 characters).")
	}
	if _, err := models.ParseRole(string(role)); err != nil {
		return "", nil, models.Invalid("role", err.Error())
	}
	raw, err := RandomToken(32)
	if err != nil {
		return "", nil, err
	}
	key := APIKeyPrefix + raw
	k := &models.APIKey{Name: name, Prefix: key[:len(APIKeyPrefix)+6], KeyHash: HashToken(key), Role: role, CreatedBy: createdBy, CreatedAt: s.now()}
	if err := s.w(ctx).Create(k).Error; err != nil {
		return "", nil, fmt.Errorf("store: create api key: %w", err)
	}
	return key, k, nil
}

// APIKeyByToken resolves a bearer token to an unrevoked key.
func (s *Store) APIKeyByToken(ctx context.Context, token string) (*models.APIKey, error) {
	var k models.APIKey
	if err := s.r(ctx).Where("key_hash = ? AND revoked_at IS NULL", HashToken(token)).Take(&k).Error; err != nil {
		return nil, notFound("api key", err)
	}
	return &k, nil
}

// ListAPIKeys returns every key, newest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]models.APIKey, error) {
	var ks []models.APIKey
	if err := s.r(ctx).Order("id DESC").Find(&ks).Error; err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	return ks, nil
}

// RevokeAPIKey disables a key.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	res := s.w(ctx).Model(&models.APIKey{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", s.now())
	if res.Error != nil {
		return fmt.Errorf("store: revoke api key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: revoke api key: %w", ErrNotFound)
	}
	return nil
}
