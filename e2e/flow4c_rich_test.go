package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// Flow 4c: rich messages. The agent quotes the customer's question and
// answers it with a photo and a caption (picked with the file picker); the
// photo reaches Telegram as a quoted sendPhoto and shows in the workbench
// as a thumbnail relayed by the server. Then the agent edits a sent text.
func flowAgentRichMessages(t *testing.T, w *world) {
	w.needs(t, false)
	if w.botID == 0 || w.keyword == "" {
		t.Skip("flow 3 did not connect a bot and set Triggered by Keyword")
	}
	s := newSession(t, "agent-rich")
	s.signIn(agentEmail, password)
	buyer := telegramtest.User(5570001, "Lena", "lena_r")
	q := suite.tg.Inject(w.botID, telegramtest.PrivateText(buyer, "Refund please: what does the damaged box look like <b>to you</b>?"))
	if st := s.open("/workbench"); st != 200 {
		s.fatalf("agent opening /workbench: HTTP %d", st)
	}
	s.waitJS("Lena's conversation", `Array.from(document.querySelectorAll("[data-testid=conv-preview]")).some(e => e.textContent.indexOf("damaged box") >= 0)`)
	eval[chromedp.Void](s, `Array.from(document.querySelectorAll("[data-testid=conv-item]")).find(a => a.textContent.indexOf("Lena") >= 0).click()`)
	s.waitVisible(`[data-testid=wb-conversation]`)
	s.expectText(`[data-testid=wb-messages] [data-testid=msg-text]`, "Refund please: what does the damaged box look like <b>to you</b>?")
	s.markDocument()

	// Quote the question: the reply box shows what is quoted.
	s.click(`[data-testid=wb-messages] [data-testid=msg-quote-action]`)
	s.waitVisible(`[data-testid=reply-quote]`)
	s.expectText(`[data-testid=reply-quote]`, "damaged box")
	s.sameDocument("quoting a message")

	// Attach a photo with the picker and send it with a caption.
	photo := filepath.Join(t.TempDir(), "box.png")
	if err := os.WriteFile(photo, testPhoto(t), 0o600); err != nil {
		t.Fatal(err)
	}
	s.do("attach the photo", chromedp.SetUploadFiles(chromedp.CSS(`#wb-reply-file`), []string{photo}))
	s.waitJS("the picked file is shown", `(document.querySelector("[data-file-name]") || {}).textContent.indexOf("box.png") >= 0`)
	const caption = "This is what we received"
	s.fill(`#wb-reply-text`, caption)
	s.click(`[data-testid=wb-send]`)

	sent := `[data-testid=wb-messages] [data-testid=msg][data-status=sent]`
	s.waitJS("the photo bubble is sent", `Array.from(document.querySelectorAll(`+jsString(sent)+`)).some(b => b.querySelector("[data-testid=msg-thumb]"))`)
	s.sameDocument("sending a photo")
	// The thumbnail really loads through the relay (the browser decoded it).
	s.waitJS("the thumbnail decoded", `Array.from(document.querySelectorAll("[data-testid=msg-thumb]")).some(i => i.complete && i.naturalWidth === 16)`)
	s.waitJS("the bubble quotes the question", `Array.from(document.querySelectorAll(`+jsString(sent)+`)).some(b => (b.querySelector("[data-testid=msg-quote]") || {textContent: ""}).textContent.indexOf("damaged box") >= 0)`)
	// The token never reaches the page.
	if bytes.Contains([]byte(s.html()), []byte(w.botToken)) {
		s.fatalf("the bot token appears in the workbench page")
	}

	tm := waitSentPhoto(s, w.botID, caption)
	if tm.Chat.ID != buyer.ID || tm.ReplyToMessage == nil || tm.ReplyToMessage.MessageID != q.Message.MessageID {
		s.fatalf("Telegram got the photo in chat %d quoting %+v, want chat %d quoting %d", tm.Chat.ID, tm.ReplyToMessage, buyer.ID, q.Message.MessageID)
	}
	s.a11y("Workbench conversation with a photo and a quote")

	// Edit a sent text: the bubble becomes a form, Save puts the new text
	// in Telegram and in the bubble, which says it was edited.
	const typo, fixed = "We will refnud you today", "We will refund you today"
	s.fill(`#wb-reply-text`, typo)
	s.click(`[data-testid=wb-send]`)
	tt := waitSent(s, w.botID, typo)
	bubbleSel := `[data-testid=msg][data-status=sent]`
	s.waitJS("the text reply is sent", `Array.from(document.querySelectorAll(`+jsString(bubbleSel)+`)).some(b => (b.querySelector("[data-testid=msg-text]") || {textContent: ""}).textContent === `+jsString(typo)+`)`)
	// The bubble was just swapped in by the live stream; a person clicks
	// Edit after htmx has wired the new link, so the test waits for that too.
	editLink := `Array.from(document.querySelectorAll(` + jsString(bubbleSel) + `)).find(b => (b.querySelector("[data-testid=msg-text]") || {textContent: ""}).textContent === ` + jsString(typo) + `).querySelector("[data-testid=msg-edit]")`
	s.waitJS("htmx wired the Edit link", `!!(`+editLink+`)["htmx-internal-data"]`)
	eval[chromedp.Void](s, editLink+`.click()`)
	s.waitVisible(`[data-testid=msg-edit-form] textarea`)
	s.fill(`[data-testid=msg-edit-form] textarea`, fixed)
	s.click(`[data-testid=msg-edit-save]`)
	s.waitJS("the bubble shows the edit", `Array.from(document.querySelectorAll(`+jsString(bubbleSel)+`)).some(b => (b.querySelector("[data-testid=msg-text]") || {textContent: ""}).textContent === `+jsString(fixed)+` && b.querySelector("[data-testid=msg-edits]"))`)
	s.sameDocument("editing a sent message")
	if got, ok := suite.tg.Message(w.botID, buyer.ID, tt.MessageID); !ok || got.Text != fixed {
		s.fatalf("Telegram holds %q for the edited message, want %q", got.Text, fixed)
	}
	s.a11y("Workbench conversation after an edit")
	s.screenshot("workbench-rich.png")
}

// testPhoto is a 16×16 PNG.
func testPhoto(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := 0; x < 16; x++ {
		for y := 0; y < 16; y++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 16), G: uint8(y * 16), B: 128, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// waitSentPhoto waits until the fake Bot API received a photo with caption.
func waitSentPhoto(s *session, botID int64, caption string) telego.Message {
	s.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		for _, m := range suite.tg.Sent(botID) {
			if len(m.Photo) > 0 && m.Caption == caption {
				return m
			}
		}
		if time.Now().After(deadline) {
			s.fatalf("Telegram never received the photo %q from bot %d", caption, botID)
		}
		time.Sleep(25 * time.Millisecond) // polling an in-process fake; not an assertion
	}
}
