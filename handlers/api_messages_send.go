package handlers

// The body of POST /api/v1/channels/{id}/messages: JSON for text, or
// multipart/form-data with a file (docs/api.md, "Rich messages").

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// maxUploadBody bounds a multipart send: the largest file Telegram takes
// plus room for the other fields and the multipart framing.
const maxUploadBody = store.MaxDocumentBytes + 1<<20

// uploadMemory is how much of a multipart body is held in memory while
// parsing; the rest goes to a temporary file until it is read.
const uploadMemory = 8 << 20

// isUploadRoute is a multipart POST to a route whose body may carry a
// file: the global body limit gives it maxUploadBody instead.
func isUploadRoute(c echo.Context) bool {
	ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if c.Request().Method != http.MethodPost || ct != echo.MIMEMultipartForm {
		return false
	}
	switch c.Path() {
	case "/api/v1/channels/:id/messages", "/workbench/c/:cid/reply":
		return true
	}
	return false
}

// readSendRequest reads a send from JSON ({chat_id, text,
// reply_to_message_id, message_thread_id, business_connection_id}) or
// from a multipart form (chat_id, file, caption, reply_to_message_id,
// message_thread_id, business_connection_id).
func readSendRequest(c echo.Context) (store.OutgoingMessage, error) {
	var out store.OutgoingMessage
	ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if ct == echo.MIMEMultipartForm {
		form, err := readUpload(c)
		if err != nil {
			return out, err
		}
		if out.ChatID, err = parseID(form.value("chat_id"), "chat_id", true); err != nil {
			return out, err
		}
		out.Text = form.value("caption")
		if form.file == nil {
			if out.Text = form.value("text"); out.Text == "" {
				return out, models.Invalid("file", "Attach a file (field \"file\") or send a text.")
			}
		}
		out.File = form.file
		if out.ReplyToMessageID, err = optionalID(form.value("reply_to_message_id"), "reply_to_message_id"); err != nil {
			return out, err
		}
		out.BusinessConnectionID = strings.TrimSpace(form.value("business_connection_id"))
		out.MessageThreadID, err = optionalID(form.value("message_thread_id"), "message_thread_id")
		return out, err
	}
	var in struct {
		ChatID           json.Number `json:"chat_id"`
		Text             string      `json:"text"`
		ReplyToMessageID json.Number `json:"reply_to_message_id"`
		MessageThreadID  json.Number `json:"message_thread_id"`
		// BusinessConnectionID sends on behalf of a connected business
		// account, into a chat of its customer.
		BusinessConnectionID string `json:"business_connection_id"`
	}
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return out, models.Invalid("", `Send a JSON body like {"chat_id": 123456789, "text": "Hello"}, or multipart/form-data with chat_id and file.`)
	}
	var err error
	if out.ChatID, err = parseID(in.ChatID.String(), "chat_id", true); err != nil {
		return out, err
	}
	out.Text, out.BusinessConnectionID = in.Text, strings.TrimSpace(in.BusinessConnectionID)
	if out.ReplyToMessageID, err = optionalID(in.ReplyToMessageID.String(), "reply_to_message_id"); err != nil {
		return out, err
	}
	out.MessageThreadID, err = optionalID(in.MessageThreadID.String(), "message_thread_id")
	return out, err
}

func parseID(v, field string, required bool) (int64, error) {
	id, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(v), `"`), 10, 64)
	if err != nil || (required && id == 0) {
		switch field {
		case "chat_id":
			return 0, models.Invalid(field, "chat_id must be the Telegram chat id (an integer).")
		}
		return 0, models.Invalid(field, field+" must be a Telegram message id (a positive integer).")
	}
	return id, nil
}

// optionalID is a positive id or nil when v is empty.
func optionalID(v, field string) (*int64, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	id, err := parseID(v, field, true)
	if err != nil || id < 0 {
		return nil, models.Invalid(field, field+" must be a Telegram message id (a positive integer).")
	}
	return &id, nil
}

// uploadForm is a parsed multipart send.
type uploadForm struct {
	values map[string][]string
	file   *store.OutgoingFile
}

func (f uploadForm) value(k string) string {
	if v := f.values[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// readUpload parses a multipart body of at most maxUploadBody and reads its
// "file" part (if any) against Telegram's limits.
func readUpload(c echo.Context) (uploadForm, error) {
	r := c.Request() // its body is bounded by maxUploadBody (bodyLimit)
	if err := r.ParseMultipartForm(uploadMemory); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return uploadForm{}, echo.NewHTTPError(http.StatusRequestEntityTooLarge, "Telegram bots can send files of at most 50 MB.")
		}
		return uploadForm{}, models.Invalid("file", "The upload could not be read; send multipart/form-data.")
	}
	out := uploadForm{values: r.MultipartForm.Value}
	fhs := r.MultipartForm.File["file"]
	if len(fhs) == 0 {
		return out, nil
	}
	fh := fhs[0]
	if fh.Size > store.MaxDocumentBytes {
		return out, models.Invalid("file", "Telegram bots can send files of at most 50 MB.")
	}
	f, err := fh.Open()
	if err != nil {
		return out, fmt.Errorf("upload: open: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, store.MaxDocumentBytes+1))
	if err != nil {
		return out, fmt.Errorf("upload: read: %w", err)
	}
	out.file, err = store.NewOutgoingFile(fh.Filename, data)
	return out, err
}
