-- An invitation creates an inactive membership; accepting it activates the membership.
CREATE TABLE invitations (
    key           text PRIMARY KEY,
    membership_id bigint NOT NULL UNIQUE REFERENCES memberships ON DELETE CASCADE,
    owner_id      bigint REFERENCES users ON DELETE SET NULL,
    created_date  timestamptz NOT NULL DEFAULT now(),
    sent_date     timestamptz
);
CREATE INDEX invitations_owner_idx ON invitations (owner_id);
