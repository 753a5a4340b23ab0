package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// The Bot API's limits for files a bot uploads: photos up to 10 MB, other
// files up to 50 MB; captions up to 1024 characters.
const (
	MaxPhotoBytes    = 10 << 20
	MaxDocumentBytes = 50 << 20
	MaxCaption       = 1024
	maxFileName      = 200
)

// photoTypes are the image types Telegram accepts as a photo; any other
// file (or a larger image) is sent as a document.
var photoTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

// OutgoingFile is a file an agent or the API sends.
type OutgoingFile struct {
	Name string
	Data []byte
	// ContentType is sniffed from Data by NewOutgoingFile; what the client
	// claimed is not trusted.
	ContentType string
}

// NewOutgoingFile checks an upload against Telegram's limits and names it
// safely (no path, no control characters, bounded length).
func NewOutgoingFile(name string, data []byte) (*OutgoingFile, error) {
	switch {
	case len(data) == 0:
		return nil, models.Invalid("file", "The file is empty.")
	case len(data) > MaxDocumentBytes:
		return nil, models.Invalid("file", "Telegram bots can send files of at most 50 MB.")
	}
	return &OutgoingFile{Name: safeUploadName(name), Data: data, ContentType: http.DetectContentType(data)}, nil
}

// kind is "photo" for an image Telegram shows as a photo (≤ 10 MB), else
// "document".
func (f *OutgoingFile) kind() (string, error) {
	if len(f.Data) == 0 || len(f.Data) > MaxDocumentBytes {
		return "", models.Invalid("file", "Telegram bots can send files of at most 50 MB.")
	}
	if photoTypes[f.ContentType] && len(f.Data) <= MaxPhotoBytes {
		return "photo", nil
	}
	return "document", nil
}

// mediaJSON describes the file before Telegram has it (the bubble shows
// name and size while it is being sent); the sender replaces it with
// Telegram's file ids afterwards.
func (f *OutgoingFile) mediaJSON() string {
	b, _ := json.Marshal(map[string]any{"file_name": f.Name, "mime_type": f.ContentType, "file_size": len(f.Data)})
	return string(b)
}

func safeUploadName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == "/" || name == "" {
		name = "file"
	}
	if r := []rune(name); len(r) > maxFileName {
		name = string(r[len(r)-maxFileName:])
	}
	return name
}

func (s *Store) saveOutgoingFile(ctx context.Context, messageID int64, f *OutgoingFile) error {
	err := s.w(ctx).Exec(`INSERT INTO outgoing_files (message_id, file_name, content_type, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		messageID, f.Name, f.ContentType, len(f.Data), f.Data, s.now()).Error
	if err != nil {
		return fmt.Errorf("store: keep outgoing file: %w", err)
	}
	return nil
}

// OutgoingFileOf returns the stored file of a pending photo or document.
func (s *Store) OutgoingFileOf(ctx context.Context, messageID int64) (*OutgoingFile, error) {
	var row struct {
		FileName    string
		ContentType string
		Data        []byte
	}
	res := s.r(ctx).Raw("SELECT file_name, content_type, data FROM outgoing_files WHERE message_id = ?", messageID).Scan(&row)
	if res.Error != nil {
		return nil, fmt.Errorf("store: outgoing file %d: %w", messageID, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, fmt.Errorf("store: outgoing file %d: %w", messageID, ErrNotFound)
	}
	return &OutgoingFile{Name: row.FileName, ContentType: row.ContentType, Data: row.Data}, nil
}

// resolveQuote checks that a quoted message exists in the chat and gives
// the reply the quoted message's forum topic when none was asked for.
func (s *Store) resolveQuote(ctx context.Context, out *models.Message) error {
	if out.ReplyToMessageID == nil {
		return nil
	}
	var q models.Message
	err := s.w(ctx).Where("channel_id = ? AND chat_id = ? AND telegram_message_id = ? AND business_connection_id = ?",
		out.ChannelID, out.ChatID, *out.ReplyToMessageID, out.BusinessConnectionID).
		Order("id DESC").Take(&q).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Invalid("reply_to_message_id", "The quoted message is not a message of this chat.")
	}
	if err != nil {
		return fmt.Errorf("store: quoted message: %w", err)
	}
	if q.DeletedAt != nil {
		return models.Invalid("reply_to_message_id", "The quoted message was deleted.")
	}
	if out.MessageThreadID == nil && q.MessageThreadID != nil {
		t := *q.MessageThreadID
		out.MessageThreadID = &t
	}
	return nil
}
