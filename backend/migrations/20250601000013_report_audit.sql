-- Writing and editing a report are audited too (`report_created`, `report_edited`), not only deleting one.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'sign_in', 'sign_in_refused', 'member_joined', 'member_role_changed', 'member_deactivated',
    'member_reactivated', 'invitation_created', 'invitation_revoked', 'settings_changed', 'report_created',
    'report_edited', 'report_deleted', 'file_uploaded', 'file_deleted', 'member_role_kept'));
