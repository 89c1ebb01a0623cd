-- Never leave a tenant without an active admin, wherever a role can change.
--
-- The groups the identity provider sent at each member's last sign-in or token refresh (a JSON array of names
-- in `custom:idp_groups`, parsed by the trigger). The application reads them to tell whether an active admin
-- whose role comes from the identity provider would keep it at their next sign-in, before it accepts a group
-- mapping change or a role handed back to the provider. NULL: the member has not signed in since this column
-- exists, so their groups are unknown (they count as holding none).
ALTER TABLE members ADD COLUMN idp_groups text[];

-- `member_role_kept`: a sign-in whose groups no longer map to admin left the tenant's last active admin their
-- role instead of demoting them (a sign-in is never refused for it).
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'sign_in', 'sign_in_refused', 'member_joined', 'member_role_changed', 'member_deactivated',
    'member_reactivated', 'invitation_created', 'invitation_revoked', 'settings_changed', 'report_deleted',
    'file_uploaded', 'file_deleted', 'member_role_kept'));
