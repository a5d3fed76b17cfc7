-- The request sub-pools' own login roles (docs/adr/0073). Each sub-pool of the request pool logs in as a role that is a
-- member of the tenant roles of that sub-pool only, so that PostgreSQL 15's per-backend list of "roles this login may
-- become" (built on a backend's first SET ROLE and again after every role change in the cluster, at a cost that grows
-- with the square of its length) holds a fraction of the tenants. This table records which sets of logins exist on this
-- server: hosts configured with different sub-pool counts each make their own set, and every tenant role is granted to
-- its login in each set. Written and read by the owner only.
CREATE TABLE platform.request_logins (
    role_name name PRIMARY KEY,
    pools integer NOT NULL CHECK (pools > 1),
    sub_pool integer NOT NULL CHECK (sub_pool >= 0 AND sub_pool < pools)
);
REVOKE ALL ON platform.request_logins FROM PUBLIC;
