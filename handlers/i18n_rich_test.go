package handlers

import (
	"net/http"
	"testing"

	"github.com/botdesk/botdesk/models"
)

// The edit and delete pages of a sent message (and the conversation that
// shows it, with its Edit/Delete/Quote actions) are Chinese for a zh-CN
// browser, as full pages and as the htmx fragments that replace a bubble.
func TestChineseMessageChangePages(t *testing.T) {
	t.Parallel()
	be := newBotEnv(t)
	f := newWBFixture(t, be.testEnv, "支持")
	token := be.addBot(7100000002, "acme_zh_bot")
	be.connectAPI(t, f.ch, token).wantStatus(t, http.StatusCreated)
	c := f.conv(t, 5551235, "张三")
	f.msg(t, c, "包裹坏了", func(m *models.Message) { m.FromName = "张三" })
	// Media placeholders name their kind in the viewer's language.
	for _, kind := range []string{"photo", "voice", "animation", "sticker", "location"} {
		f.msg(t, c, "", func(m *models.Message) {
			m.FromName, m.Type, m.Media = "张三", kind, `{"file_id":"AgAD","file_size":2048,"width":16,"height":16}`
		})
	}
	m := f.message(t, sentThroughFake(t, be.testEnv, be.tgURL, token, f.ch.ID, 5551235, "您的订单周一发货"))
	agent := be.userClient(t, models.RoleAgent)
	agent.Header = http.Header{"Accept-Language": {"zh-CN"}}
	conv := "/workbench/c/" + itoa(c.ID)
	msgBase := conv + "/m/" + itoa(m.ID)
	for _, path := range []string{conv, conv + "?reply_to=" + itoa(m.ID), msgBase + "/edit", msgBase + "/delete"} {
		t.Run(path, func(t *testing.T) {
			lang, bad := untranslated(t, agent.get(path).wantStatus(t, http.StatusOK).Body)
			if lang != "zh-CN" {
				t.Errorf("<html lang=%q>, want zh-CN", lang)
			}
			for _, b := range bad {
				t.Errorf("English on the zh-CN page: %s", b)
			}
		})
	}
}
