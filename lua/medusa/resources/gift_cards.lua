-- medusa.resources.gift_cards: medusa-js's GiftCardsResource.
return {
  name = "giftCards",
  methods = {
    retrieve = { "GET", "/store/gift-cards/{code}", returns = "gift_card", doc = "a gift card by code" },
  },
}
