-- Organization fields of the organizations API.
ALTER TABLE organizations ADD COLUMN description text NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN contact jsonb;
CREATE INDEX organizations_name_idx ON organizations (name);
CREATE INDEX memberships_user_idx ON memberships (user_id);
