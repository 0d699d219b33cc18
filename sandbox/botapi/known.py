"""Every method of the Bot API (core.telegram.org/bots/api, up to Bot API 9.x), so that a method Telegram has but
the sandbox lacks answers 501 «method not supported by the sandbox» instead of Telegram's 404 «Not Found», which
client libraries take for a wrong token (python-telegram-bot raises InvalidToken)."""

from __future__ import annotations

TELEGRAM_METHODS = frozenset(
    name.lower()
    for name in """
    getUpdates setWebhook deleteWebhook getWebhookInfo getMe logOut close
    sendMessage forwardMessage forwardMessages copyMessage copyMessages sendPhoto sendAudio sendDocument sendVideo
    sendAnimation sendVoice sendVideoNote sendPaidMedia sendMediaGroup sendLocation sendVenue sendContact sendPoll
    sendChecklist sendDice sendMessageDraft sendChatAction setMessageReaction getUserProfilePhotos setUserEmojiStatus
    getFile banChatMember unbanChatMember restrictChatMember promoteChatMember setChatAdministratorCustomTitle
    banChatSenderChat unbanChatSenderChat setChatPermissions exportChatInviteLink createChatInviteLink
    editChatInviteLink createChatSubscriptionInviteLink editChatSubscriptionInviteLink revokeChatInviteLink
    approveChatJoinRequest declineChatJoinRequest setChatPhoto deleteChatPhoto setChatTitle setChatDescription
    pinChatMessage unpinChatMessage unpinAllChatMessages leaveChat getChat getChatAdministrators getChatMemberCount
    getChatMember setChatStickerSet deleteChatStickerSet getForumTopicIconStickers createForumTopic editForumTopic
    closeForumTopic reopenForumTopic deleteForumTopic unpinAllForumTopicMessages editGeneralForumTopic
    closeGeneralForumTopic reopenGeneralForumTopic hideGeneralForumTopic unhideGeneralForumTopic
    unpinAllGeneralForumTopicMessages answerCallbackQuery getUserChatBoosts getBusinessConnection
    setMyCommands deleteMyCommands getMyCommands setMyName getMyName setMyDescription getMyDescription
    setMyShortDescription getMyShortDescription setChatMenuButton getChatMenuButton setMyDefaultAdministratorRights
    getMyDefaultAdministratorRights getAvailableGifts sendGift giftPremiumSubscription verifyUser verifyChat
    removeUserVerification removeChatVerification readBusinessMessage deleteBusinessMessages setBusinessAccountName
    setBusinessAccountUsername setBusinessAccountBio setBusinessAccountProfilePhoto removeBusinessAccountProfilePhoto
    setBusinessAccountGiftSettings getBusinessAccountStarBalance transferBusinessAccountStars getBusinessAccountGifts
    convertGiftToStars upgradeGift transferGift postStory editStory deleteStory
    editMessageText editMessageCaption editMessageMedia editMessageLiveLocation stopMessageLiveLocation
    editMessageChecklist editMessageReplyMarkup stopPoll approveSuggestedPost declineSuggestedPost deleteMessage
    deleteMessages sendSticker getStickerSet getCustomEmojiStickers uploadStickerFile createNewStickerSet
    addStickerToSet setStickerPositionInSet deleteStickerFromSet replaceStickerInSet setStickerEmojiList
    setStickerKeywords setStickerMaskPosition setStickerSetTitle setStickerSetThumbnail
    setCustomEmojiStickerSetThumbnail deleteStickerSet answerInlineQuery answerWebAppQuery savePreparedInlineMessage
    sendInvoice createInvoiceLink answerShippingQuery answerPreCheckoutQuery getMyStarBalance getStarTransactions
    refundStarPayment editUserStarSubscription setPassportDataErrors sendGame setGameScore getGameHighScores
    """.split()
)
