-- Role moderation (issue 13.3): a respondent's free text is only suggested to others once several
-- respondents use it or an administrator approves it; the administrator can merge and rename.
-- `approved_at`: when an administrator approved the role (NULL = not approved).
-- `merged_into`: the role_key of the role this one now counts as (NULL = a role of its own). A
-- merged role keeps its key (submissions keep pointing at it) and takes the label of its target,
-- so every reader that joins submissions to roles by role_key shows the merged name.
ALTER TABLE roles ADD COLUMN approved_at TEXT;
ALTER TABLE roles ADD COLUMN merged_into TEXT;
CREATE INDEX roles_merged_into ON roles (merged_into);
