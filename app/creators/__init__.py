"""The creator programme: admission, collaborations, attribution, commissions, payouts, storefronts."""
