package store

import (
	"context"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// Actor is who performs an audited action.
type Actor struct {
	UserID *int64
	Name   string // email, "api:<key name>" or "system"
	IP     string
}

// Audit appends an entry to the audit log; inside WithTx it commits with
// the change it describes.
func (s *Store) Audit(ctx context.Context, a Actor, action, objectType, objectID, detail string) error {
	e := &models.AuditEntry{At: s.now(), ActorID: a.UserID, Actor: a.Name, Action: action, ObjectType: objectType, ObjectID: objectID, IP: a.IP, Detail: detail}
	if err := s.w(ctx).Create(e).Error; err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Entries []models.AuditEntry
	// Before is the cursor for the next (older) page; 0 when none.
	Before int64
}

// ListAudit returns entries older than before (0 = newest), filtered by an
// optional action prefix.
func (s *Store) ListAudit(ctx context.Context, before int64, action string, limit int) (AuditPage, error) {
	q := s.r(ctx).Order("id DESC").Limit(limit + 1)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if action != "" {
		q = q.Where("action LIKE ?", action+"%")
	}
	var es []models.AuditEntry
	if err := q.Find(&es).Error; err != nil {
		return AuditPage{}, fmt.Errorf("store: list audit: %w", err)
	}
	p := AuditPage{Entries: es}
	if len(es) > limit {
		p.Entries = es[:limit]
		p.Before = es[limit-1].ID
	}
	return p, nil
}
