"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 23:24:04.765030
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


AUDITED = ("grid", "camera", "grid_assignment", "staff")

AUDIT_FN = """
-- Rows are recorded as JSON (geometry as GeoJSON through PostGIS's cast) plus, for tables
-- with a geometry, the exact geometry as hex EWKB: a restored version is bit-for-bit what it
-- was, so shared grid edges stay shared.
CREATE OR REPLACE FUNCTION wangge_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  b jsonb;
  a jsonb;
BEGIN
  IF TG_OP <> 'INSERT' THEN b := to_jsonb(OLD); END IF;
  IF TG_OP <> 'DELETE' THEN a := to_jsonb(NEW); END IF;
  IF TG_TABLE_NAME IN ('grid', 'camera') THEN
    IF TG_OP <> 'INSERT' THEN b := b || jsonb_build_object('geom_ewkb', encode(ST_AsEWKB(OLD.geom), 'hex')); END IF;
    IF TG_OP <> 'DELETE' THEN a := a || jsonb_build_object('geom_ewkb', encode(ST_AsEWKB(NEW.geom), 'hex')); END IF;
  END IF;
  INSERT INTO change_log (table_name, row_id, action, actor, before, after)
  VALUES (TG_TABLE_NAME,
          CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
          lower(TG_OP),
          nullif(current_setting('wangge.actor', true), ''),
          b, a);
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('change_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('table_name', sa.String(length=32), nullable=False),
    sa.Column('row_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('actor', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('txid', sa.BigInteger(), server_default=sa.text('txid_current()'), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log'))
    )
    op.create_index('ix_change_log_row', 'change_log', ['table_name', 'row_id', 'id'], unique=False)
    op.create_geospatial_table('jurisdiction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('metric_epsg', sa.Integer(), nullable=False),
    sa.Column('levels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{6}([0-9]{3}){0,3}$'", name=op.f('ck_jurisdiction_code_format')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_jurisdiction_geom_valid')),
    sa.CheckConstraint('metric_epsg BETWEEN 1024 AND 999999', name=op.f('ck_jurisdiction_metric_epsg_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jurisdiction')),
    sa.UniqueConstraint('code', name=op.f('uq_jurisdiction_code'))
    )
    op.create_geospatial_index('idx_jurisdiction_geom', 'jurisdiction', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('camera',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('gb_id', sa.String(length=20), nullable=False),
    sa.Column('centre_code', sa.String(length=8), sa.Computed('substr(gb_id, 1, 8)', persisted=True), nullable=False),
    sa.Column('admin_code', sa.String(length=6), sa.Computed('substr(gb_id, 1, 6)', persisted=True), nullable=False),
    sa.Column('industry_code', sa.String(length=2), sa.Computed('substr(gb_id, 9, 2)', persisted=True), nullable=False),
    sa.Column('type_code', sa.String(length=3), sa.Computed('substr(gb_id, 11, 3)', persisted=True), nullable=False),
    sa.Column('network_code', sa.String(length=1), sa.Computed('substr(gb_id, 14, 1)', persisted=True), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('height_m', sa.Float(), server_default=sa.text('4'), nullable=False),
    sa.Column('azimuth_deg', sa.Float(), server_default=sa.text('0'), nullable=False),
    sa.Column('hfov_deg', sa.Float(), server_default=sa.text('60'), nullable=False),
    sa.Column('range_m', sa.Float(), server_default=sa.text('50'), nullable=False),
    sa.Column('kind', sa.String(length=8), server_default=sa.text("'fixed'"), nullable=False),
    sa.Column('networked', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('online', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('documented', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.CheckConstraint("gb_id ~ '^[0-9]{20}$'", name=op.f('ck_camera_gb_id_format')),
    sa.CheckConstraint("kind IN ('fixed', 'ptz')", name=op.f('ck_camera_kind_known')),
    sa.CheckConstraint("substr(gb_id, 11, 3) IN ('131', '132')", name=op.f('ck_camera_gb_type_camera')),
    sa.CheckConstraint('azimuth_deg >= 0 AND azimuth_deg < 360', name=op.f('ck_camera_azimuth_range')),
    sa.CheckConstraint('height_m >= 0 AND height_m <= 300', name=op.f('ck_camera_height_range')),
    sa.CheckConstraint('hfov_deg > 0 AND hfov_deg <= 360', name=op.f('ck_camera_hfov_range')),
    sa.CheckConstraint('range_m > 0 AND range_m <= 2000', name=op.f('ck_camera_range_range')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'], name=op.f('fk_camera_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera')),
    sa.UniqueConstraint('gb_id', name=op.f('uq_camera_gb_id'))
    )
    op.create_geospatial_index('idx_camera_geom', 'camera', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_camera_jurisdiction_gb', 'camera', ['jurisdiction_id', 'gb_id'], unique=False)
    op.create_index(op.f('ix_camera_jurisdiction_id'), 'camera', ['jurisdiction_id'], unique=False)
    op.create_geospatial_table('grid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.CheckConstraint("code ~ '^[0-9]+$'", name=op.f('ck_grid_code_digits')),
    sa.CheckConstraint('(level = 0) = (parent_id IS NULL)', name=op.f('ck_grid_parent_iff_not_top')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_grid_geom_valid')),
    sa.CheckConstraint('level >= 0 AND level < 8', name=op.f('ck_grid_level_range')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'], name=op.f('fk_grid_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['grid.id'], name=op.f('fk_grid_parent_id_grid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid')),
    sa.UniqueConstraint('jurisdiction_id', 'code', name='uq_grid_jurisdiction_code')
    )
    op.create_geospatial_index('idx_grid_geom', 'grid', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_grid_jurisdiction_id'), 'grid', ['jurisdiction_id'], unique=False)
    op.create_index(op.f('ix_grid_parent_id'), 'grid', ['parent_id'], unique=False)
    op.create_geospatial_table('key_site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('entrances', Geometry(geometry_type='MULTIPOINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("category IN ('party_government', 'utility', 'broadcast_telecom', 'key_enterprise', 'school', 'bank', 'hospital', 'mall', 'internet_cafe', 'car_park', 'hotel', 'residential_estate', 'square', 'high_crime_area')", name=op.f('ck_key_site_category_known')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_key_site_geom_valid')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'], name=op.f('fk_key_site_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_site'))
    )
    op.create_geospatial_index('idx_key_site_entrances', 'key_site', ['entrances'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_key_site_geom', 'key_site', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_key_site_jurisdiction_id'), 'key_site', ['jurisdiction_id'], unique=False)
    op.create_geospatial_table('road',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('road_class', sa.String(length=16), nullable=False),
    sa.Column('width_m', sa.Float(), server_default=sa.text('6'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("road_class IN ('provincial', 'main_street', 'village_main', 'lane')", name=op.f('ck_road_class_known')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_road_geom_valid')),
    sa.CheckConstraint('width_m > 0 AND width_m <= 120', name=op.f('ck_road_width_range')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'], name=op.f('fk_road_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_road'))
    )
    op.create_geospatial_index('idx_road_geom', 'road', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_road_jurisdiction_id'), 'road', ['jurisdiction_id'], unique=False)
    op.create_geospatial_table('service_centre',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("level IN ('district', 'town', 'village')", name=op.f('ck_service_centre_level_known')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'], name=op.f('fk_service_centre_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_centre'))
    )
    op.create_geospatial_index('idx_service_centre_geom', 'service_centre', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_service_centre_jurisdiction_id'), 'service_centre', ['jurisdiction_id'], unique=False)
    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.CheckConstraint("phone IS NULL OR phone ~ '^[0-9+() -]{3,32}$'", name=op.f('ck_staff_phone_format')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'], name=op.f('fk_staff_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff'))
    )
    op.create_index(op.f('ix_staff_jurisdiction_id'), 'staff', ['jurisdiction_id'], unique=False)
    op.create_geospatial_table('building',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('households', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('residential', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('floors', sa.SmallInteger(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_building_geom_valid')),
    sa.CheckConstraint('floors IS NULL OR floors BETWEEN 1 AND 200', name=op.f('ck_building_floors_range')),
    sa.CheckConstraint('households >= 0', name=op.f('ck_building_households_nonneg')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_building_grid_id_grid'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'], name=op.f('fk_building_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building')),
    sa.UniqueConstraint('jurisdiction_id', 'code', name='uq_building_jurisdiction_code')
    )
    op.create_geospatial_index('idx_building_geom', 'building', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_building_grid_id'), 'building', ['grid_id'], unique=False)
    op.create_index(op.f('ix_building_jurisdiction_id'), 'building', ['jurisdiction_id'], unique=False)
    op.create_table('grid_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.CheckConstraint("role IN ('responsible', 'grid_manager', 'police', 'supervisor', 'specialist', 'volunteer')", name=op.f('ck_grid_assignment_role_known')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_grid_assignment_grid_id_grid'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_grid_assignment_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_assignment')),
    sa.UniqueConstraint('grid_id', 'staff_id', 'role', name='uq_assignment')
    )
    op.create_index(op.f('ix_grid_assignment_grid_id'), 'grid_assignment', ['grid_id'], unique=False)
    op.create_index(op.f('ix_grid_assignment_staff_id'), 'grid_assignment', ['staff_id'], unique=False)
    op.create_geospatial_table('incident',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=16), server_default=sa.text("'grid_worker'"), nullable=False),
    sa.Column('status', sa.String(length=10), server_default=sa.text("'reported'"), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(status = 'reported' OR accepted_at IS NOT NULL) AND (status NOT IN ('handled','resolved','evaluated') OR handled_at IS NOT NULL) AND (status NOT IN ('resolved','evaluated') OR resolved_at IS NOT NULL) AND (status <> 'evaluated' OR evaluated_at IS NOT NULL)", name=op.f('ck_incident_status_steps')),
    sa.CheckConstraint("reported_at >= occurred_at - interval '1 minute' AND (accepted_at IS NULL OR accepted_at >= reported_at) AND (handled_at IS NULL OR handled_at >= accepted_at) AND (resolved_at IS NULL OR resolved_at >= handled_at) AND (evaluated_at IS NULL OR evaluated_at >= resolved_at)", name=op.f('ck_incident_steps_in_order')),
    sa.CheckConstraint("source IN ('grid_worker', 'hotline', 'camera', 'resident')", name=op.f('ck_incident_source_known')),
    sa.CheckConstraint("status IN ('reported', 'accepted', 'handled', 'resolved', 'evaluated')", name=op.f('ck_incident_status_known')),
    sa.CheckConstraint("type IN ('dispute', 'public_order', 'safety_hazard', 'city_management', 'service_request')", name=op.f('ck_incident_type_known')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_incident_grid_id_grid'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'], name=op.f('fk_incident_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    op.create_geospatial_index('idx_incident_geom', 'incident', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_incident_grid_id'), 'incident', ['grid_id'], unique=False)
    op.create_index(op.f('ix_incident_jurisdiction_id'), 'incident', ['jurisdiction_id'], unique=False)
    op.create_index(op.f('ix_incident_occurred_at'), 'incident', ['occurred_at'], unique=False)
    op.execute(AUDIT_FN)
    for t in AUDITED:
        op.execute(f"CREATE TRIGGER {t}_audit AFTER INSERT OR UPDATE OR DELETE ON {t} "
                   f"FOR EACH ROW EXECUTE FUNCTION wangge_audit()")


def downgrade() -> None:
    for t in AUDITED:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_audit ON {t}")
    op.execute("DROP FUNCTION IF EXISTS wangge_audit()")
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f('ix_incident_occurred_at'), table_name='incident')
    op.drop_index(op.f('ix_incident_jurisdiction_id'), table_name='incident')
    op.drop_index(op.f('ix_incident_grid_id'), table_name='incident')
    op.drop_geospatial_index('idx_incident_geom', table_name='incident', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('incident')
    op.drop_index(op.f('ix_grid_assignment_staff_id'), table_name='grid_assignment')
    op.drop_index(op.f('ix_grid_assignment_grid_id'), table_name='grid_assignment')
    op.drop_table('grid_assignment')
    op.drop_index(op.f('ix_building_jurisdiction_id'), table_name='building')
    op.drop_index(op.f('ix_building_grid_id'), table_name='building')
    op.drop_geospatial_index('idx_building_geom', table_name='building', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('building')
    op.drop_index(op.f('ix_staff_jurisdiction_id'), table_name='staff')
    op.drop_table('staff')
    op.drop_index(op.f('ix_service_centre_jurisdiction_id'), table_name='service_centre')
    op.drop_geospatial_index('idx_service_centre_geom', table_name='service_centre', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('service_centre')
    op.drop_index(op.f('ix_road_jurisdiction_id'), table_name='road')
    op.drop_geospatial_index('idx_road_geom', table_name='road', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('road')
    op.drop_index(op.f('ix_key_site_jurisdiction_id'), table_name='key_site')
    op.drop_geospatial_index('idx_key_site_geom', table_name='key_site', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_index('idx_key_site_entrances', table_name='key_site', postgresql_using='gist', column_name='entrances')
    op.drop_geospatial_table('key_site')
    op.drop_index(op.f('ix_grid_parent_id'), table_name='grid')
    op.drop_index(op.f('ix_grid_jurisdiction_id'), table_name='grid')
    op.drop_geospatial_index('idx_grid_geom', table_name='grid', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grid')
    op.drop_index(op.f('ix_camera_jurisdiction_id'), table_name='camera')
    op.drop_index('ix_camera_jurisdiction_gb', table_name='camera')
    op.drop_geospatial_index('idx_camera_geom', table_name='camera', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('camera')
    op.drop_geospatial_index('idx_jurisdiction_geom', table_name='jurisdiction', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('jurisdiction')
    op.drop_index('ix_change_log_row', table_name='change_log')
    op.drop_table('change_log')
    # ### end Alembic commands ###
