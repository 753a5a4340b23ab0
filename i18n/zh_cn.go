package i18n

// zhCN holds the Simplified Chinese text of every English key the console
// uses. Terms follow the managed console where it has one (渠道管理 for
// Channel Management).
var zhCN = map[string]string{
}
