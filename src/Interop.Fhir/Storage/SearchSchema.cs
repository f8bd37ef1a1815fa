using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// The search index tables, one per parameter type (the layout HAPI and Microsoft's server use), keyed by the
/// compact key of the current version's resource (migration 3; migration 1 created them keyed by the text
/// "{type}/{id}"). Marten owns the indexes of its own tables and drops those it was not told of: the ones made
/// here on mt_doc_resourcedoc are named to it (StorageSetup, IgnoreIndex).
/// </summary>
public static class SearchSchema
{
    public const string S = StorageSetup.Schema;

    /// <summary>The indexes the migrations make on Marten's table of current resources.</summary>
    public const string TypeRidIndex = "ix_resource_type_rid", TypeUpdatedIndex = "ix_resource_type_updated", PatientWriterIndex = "ix_patient_writer";
    public static readonly string[] OnResourceTable = [TypeRidIndex, TypeUpdatedIndex, PatientWriterIndex];

    // Lookup indexes cover the key: a criterion is answered by an index-only scan, never by fetching scattered
    // heap rows. Where a criterion is an equality (token code, reference, composite code) the key follows it in the
    // index, so its keys come out sorted: criteria combine by merge join and a page stops after _count rows.
    // The (rkey, param) indexes serve deletes on update and sort keys.
    /// <summary>Migration 1, as it was applied (history: migration 3 re-keys these tables).</summary>
    public static readonly string Ddl = $"""
        create extension if not exists pg_trgm;
        create extension if not exists btree_gist;
        create table if not exists {S}.ix_string (rkey text not null, rtype text not null, param text not null, value text not null, exact text not null);
        create table if not exists {S}.ix_token (rkey text not null, rtype text not null, param text not null, system text, code text, text text, type_key text);
        create table if not exists {S}.ix_date (rkey text not null, rtype text not null, param text not null, lo timestamptz not null, hi timestamptz not null);
        create table if not exists {S}.ix_number (rkey text not null, rtype text not null, param text not null, value numeric not null);
        create table if not exists {S}.ix_quantity (rkey text not null, rtype text not null, param text not null, system text, code text, unit text, value numeric not null);
        create table if not exists {S}.ix_reference (rkey text not null, rtype text not null, param text not null, target_type text, target_id text, target_key text, url text);
        create table if not exists {S}.ix_uri (rkey text not null, rtype text not null, param text not null, value text not null);
        create table if not exists {S}.ix_composite (rkey text not null, rtype text not null, param text not null, system text, code text,
            v_system text, v_code text, v_number numeric, v_lo timestamptz, v_hi timestamptz, v_text text);
        alter table {S}.ix_quantity add column if not exists canon_code text, add column if not exists canon_value numeric;
        alter table {S}.ix_composite add column if not exists v_canon_code text, add column if not exists v_canon_number numeric;
        create table if not exists {S}.ix_text (rkey text not null, rtype text not null, narrative tsvector, content tsvector);

        drop index if exists {S}.ix_string_lookup, {S}.ix_string_rkey, {S}.ix_token_lookup, {S}.ix_token_text, {S}.ix_token_rkey,
            {S}.ix_date_lookup, {S}.ix_date_hi, {S}.ix_date_rkey, {S}.ix_number_lookup, {S}.ix_number_rkey, {S}.ix_quantity_lookup,
            {S}.ix_quantity_rkey, {S}.ix_reference_lookup, {S}.ix_reference_id, {S}.ix_reference_target, {S}.ix_reference_rkey,
            {S}.ix_uri_lookup, {S}.ix_uri_rkey, {S}.ix_composite_lookup, {S}.ix_composite_rkey,
            {S}.ix_token_find, {S}.ix_reference_find, {S}.ix_composite_find, {S}.ix_token_key, {S}.ix_composite_code,
            {S}.ix_reference_key, {S}.ix_token_code;

        create index if not exists ix_string_find on {S}.ix_string (rtype, param, value text_pattern_ops) include (rkey);
        create index if not exists ix_string_exact on {S}.ix_string (rtype, param, exact) include (rkey);
        create index if not exists ix_string_trgm on {S}.ix_string using gin (value gin_trgm_ops);
        create index if not exists ix_string_key on {S}.ix_string (rkey, param) include (value);

        create index if not exists ix_token_value on {S}.ix_token (rtype, param, code, rkey) include (system, type_key);
        create index if not exists ix_token_system on {S}.ix_token (rtype, param, system) include (rkey);
        create index if not exists ix_token_text_find on {S}.ix_token (rtype, param, text text_pattern_ops) include (rkey) where text is not null;
        create index if not exists ix_token_bykey on {S}.ix_token (rkey, param) include (rtype, code, system); -- also probes from a small key set

        create index if not exists ix_date_find on {S}.ix_date (rtype, param, lo, hi) include (rkey);
        create index if not exists ix_date_find_hi on {S}.ix_date (rtype, param, hi, lo) include (rkey);
        create index if not exists ix_date_bykey on {S}.ix_date (rtype, param, rkey) include (lo, hi);
        create index if not exists ix_date_range on {S}.ix_date using gist (rtype, param, tstzrange(lo, hi, '[)')) include (rkey, lo, hi);
        create index if not exists ix_date_key on {S}.ix_date (rkey, param) include (lo, hi);

        create index if not exists ix_number_find on {S}.ix_number (rtype, param, value) include (rkey);
        create index if not exists ix_number_key on {S}.ix_number (rkey, param) include (value);

        create index if not exists ix_quantity_find on {S}.ix_quantity (rtype, param, code, value) include (rkey, unit, system);
        create index if not exists ix_quantity_value on {S}.ix_quantity (rtype, param, value) include (rkey, code, unit, system);
        create index if not exists ix_quantity_canon on {S}.ix_quantity (rtype, param, canon_code, canon_value) include (rkey) where canon_code is not null;
        create index if not exists ix_quantity_key on {S}.ix_quantity (rkey, param) include (value);

        create index if not exists ix_reference_ref on {S}.ix_reference (rtype, param, target_key, rkey) include (target_type);
        create index if not exists ix_reference_find_id on {S}.ix_reference (rtype, param, target_id) include (rkey);
        create index if not exists ix_reference_target on {S}.ix_reference (target_key) include (rkey, rtype, param, target_type);
        create index if not exists ix_reference_find_url on {S}.ix_reference (rtype, param, url) include (rkey) where url is not null;
        create index if not exists ix_reference_bykey on {S}.ix_reference (rkey, param) include (rtype, target_key, target_type); -- _has probes

        create index if not exists ix_uri_find on {S}.ix_uri (rtype, param, value text_pattern_ops) include (rkey);
        create index if not exists ix_uri_key on {S}.ix_uri (rkey, param) include (value);

        create index if not exists ix_composite_bycode on {S}.ix_composite (rtype, param, code, system, rkey) include (v_system, v_code, v_number, v_lo, v_hi, v_canon_code, v_canon_number);
        create index if not exists ix_composite_key on {S}.ix_composite (rkey, param);

        -- The planner needs to know how many rows one (type, parameter, value) has: the columns are correlated.
        alter table {S}.ix_token alter column code set statistics 1000;
        alter table {S}.ix_composite alter column code set statistics 1000;
        create statistics if not exists {S}.ix_token_stats on rtype, param, code, system from {S}.ix_token;
        create statistics if not exists {S}.ix_string_stats on rtype, param from {S}.ix_string;
        create statistics if not exists {S}.ix_date_stats on rtype, param from {S}.ix_date;
        create statistics if not exists {S}.ix_quantity_stats on rtype, param, code from {S}.ix_quantity;
        create statistics if not exists {S}.ix_reference_stats on rtype, param, target_type from {S}.ix_reference;
        create statistics if not exists {S}.ix_composite_stats on rtype, param, code, system from {S}.ix_composite;

        create index if not exists ix_text_narrative on {S}.ix_text using gin (narrative);
        create index if not exists ix_text_content on {S}.ix_text using gin (content);
        create index if not exists ix_text_rkey on {S}.ix_text (rkey);

        create index if not exists ix_resource_type_id on {S}.mt_doc_resourcedoc (resource_type, id) where not deleted;
        create index if not exists {TypeUpdatedIndex} on {S}.mt_doc_resourcedoc (resource_type, last_updated) where not deleted;
        """;

    // Each index table's columns after the key, as migration 3 copies them (reference targets by compact key).
    private static readonly (string Table, string Columns)[] Rekeyed =
    [
        ("ix_string", "rtype, param, value, exact"),
        ("ix_token", "rtype, param, system, code, text, type_key"),
        ("ix_date", "rtype, param, lo, hi"),
        ("ix_number", "rtype, param, value"),
        ("ix_quantity", "rtype, param, system, code, unit, value, canon_code, canon_value"),
        ("ix_reference", $"rtype, param, target_type, target_id, {S}.key_rid(target_key) as target_rid, url"),
        ("ix_uri", "rtype, param, value"),
        ("ix_composite", "rtype, param, system, code, v_system, v_code, v_number, v_lo, v_hi, v_text, v_canon_code, v_canon_number"),
        ("ix_text", "rtype, narrative, content"),
    ];

    private static string Rekey((string Table, string Columns) t) => $"""
        create table {S}.{t.Table}_v3 as select {S}.key_rid(rkey) as rid, {t.Columns} from {S}.{t.Table};
        drop table {S}.{t.Table};
        alter table {S}.{t.Table}_v3 rename to {t.Table};
        alter table {S}.{t.Table} alter column rid set not null, alter column rtype set not null{(t.Table == "ix_text" ? "" : ", alter column param set not null")};
        """;

    /// <summary>
    /// Migration 3: every index row keyed by the resource's compact key (<see cref="CompactKeys"/>, 8 bytes)
    /// instead of the "{type}/{id}" text, and reference targets by theirs. Each table is copied once (faster than
    /// updating every row in place), then its indexes and statistics are built again on the new columns.
    /// </summary>
    public static readonly string CompactKeyDdl = $"""
        {CompactKeys.Function};
        update {S}.mt_doc_resourcedoc set rid = {S}.key_rid(id) where rid is distinct from {S}.key_rid(id); -- Marten added the column, empty
        create index if not exists {TypeRidIndex} on {S}.mt_doc_resourcedoc (resource_type, rid) where not deleted;
        drop index if exists {S}.ix_resource_type_id;
        {string.Join("\n", Rekeyed.Select(Rekey))}

        create index ix_string_find on {S}.ix_string (rtype, param, value text_pattern_ops) include (rid);
        create index ix_string_exact on {S}.ix_string (rtype, param, exact) include (rid);
        create index ix_string_trgm on {S}.ix_string using gin (value gin_trgm_ops);
        create index ix_string_key on {S}.ix_string (rid, param) include (value);

        create index ix_token_value on {S}.ix_token (rtype, param, code, rid) include (system, type_key);
        create index ix_token_system on {S}.ix_token (rtype, param, system) include (rid);
        create index ix_token_text_find on {S}.ix_token (rtype, param, text text_pattern_ops) include (rid) where text is not null;
        create index ix_token_bykey on {S}.ix_token (rid, param) include (rtype, code, system);

        create index ix_date_find on {S}.ix_date (rtype, param, lo, hi) include (rid);
        create index ix_date_find_hi on {S}.ix_date (rtype, param, hi, lo) include (rid);
        create index ix_date_bykey on {S}.ix_date (rtype, param, rid) include (lo, hi);
        create index ix_date_range on {S}.ix_date using gist (rtype, param, tstzrange(lo, hi, '[)')) include (rid, lo, hi);
        create index ix_date_key on {S}.ix_date (rid, param) include (lo, hi);

        create index ix_number_find on {S}.ix_number (rtype, param, value) include (rid);
        create index ix_number_key on {S}.ix_number (rid, param) include (value);

        create index ix_quantity_find on {S}.ix_quantity (rtype, param, code, value) include (rid, unit, system);
        create index ix_quantity_value on {S}.ix_quantity (rtype, param, value) include (rid, code, unit, system);
        create index ix_quantity_canon on {S}.ix_quantity (rtype, param, canon_code, canon_value) include (rid) where canon_code is not null;
        create index ix_quantity_key on {S}.ix_quantity (rid, param) include (value);

        create index ix_reference_ref on {S}.ix_reference (rtype, param, target_rid, rid) include (target_type);
        create index ix_reference_find_id on {S}.ix_reference (rtype, param, target_id) include (rid);
        create index ix_reference_target on {S}.ix_reference (target_rid) include (rid, rtype, param, target_type);
        create index ix_reference_find_url on {S}.ix_reference (rtype, param, url) include (rid) where url is not null;
        create index ix_reference_bykey on {S}.ix_reference (rid, param) include (rtype, target_rid, target_type);

        create index ix_uri_find on {S}.ix_uri (rtype, param, value text_pattern_ops) include (rid);
        create index ix_uri_key on {S}.ix_uri (rid, param) include (value);
        create index ix_uri_trgm on {S}.ix_uri using gin (value gin_trgm_ops);

        create index ix_composite_bycode on {S}.ix_composite (rtype, param, code, system, rid) include (v_system, v_code, v_number, v_lo, v_hi, v_canon_code, v_canon_number);
        create index ix_composite_key on {S}.ix_composite (rid, param);

        create index ix_text_narrative on {S}.ix_text using gin (narrative);
        create index ix_text_content on {S}.ix_text using gin (content);
        create index ix_text_rid on {S}.ix_text (rid);

        alter table {S}.ix_token alter column code set statistics 1000;
        alter table {S}.ix_composite alter column code set statistics 1000;
        create statistics {S}.ix_token_stats on rtype, param, code, system from {S}.ix_token;
        create statistics {S}.ix_string_stats on rtype, param from {S}.ix_string;
        create statistics {S}.ix_date_stats on rtype, param from {S}.ix_date;
        create statistics {S}.ix_quantity_stats on rtype, param, code from {S}.ix_quantity;
        create statistics {S}.ix_reference_stats on rtype, param, target_type from {S}.ix_reference;
        create statistics {S}.ix_composite_stats on rtype, param, code, system from {S}.ix_composite;
        analyze {S}.ix_string, {S}.ix_token, {S}.ix_date, {S}.ix_number, {S}.ix_quantity, {S}.ix_reference, {S}.ix_uri, {S}.ix_composite, {S}.ix_text, {S}.mt_doc_resourcedoc;
        """;

    public static readonly string[] Tables = ["ix_string", "ix_token", "ix_date", "ix_number", "ix_quantity", "ix_reference", "ix_uri", "ix_composite", "ix_text"];

    /// <summary>
    /// Migration 4: the access facts of the group's policy (Storage/CareRelationships), one set of rows per source
    /// resource, replaced with its index rows. Existing data gets them from `./interop.sh reindex`.
    /// </summary>
    public const string AccessDdl = $"""
        create table if not exists {S}.care_relationship (
            source_rid bigint not null, patient_rid bigint not null, institution text not null, kind text not null, ended timestamptz);
        create index if not exists care_relationship_source on {S}.care_relationship (source_rid);
        create index if not exists care_relationship_lookup on {S}.care_relationship (patient_rid, institution) include (kind, ended);
        create table if not exists {S}.consent_denial (
            source_rid bigint not null, patient_rid bigint not null, institution text not null, types text[], label text,
            period_from timestamptz, period_to timestamptz);
        create index if not exists consent_denial_source on {S}.consent_denial (source_rid);
        create index if not exists consent_denial_lookup on {S}.consent_denial (patient_rid, institution);
        """;

    /// <summary>
    /// Migration 10: a care relationship made through a PractitionerRole (a care manager, a team member, an
    /// encounter participant) records the role's compact key, so that a write of the role moves its relationships
    /// to the role's organization (or to none). Adding a nullable column rewrites nothing.
    /// </summary>
    public const string RoleRelationshipDdl = $"""
        alter table {S}.care_relationship add column if not exists via_rid bigint;
        create index if not exists care_relationship_via on {S}.care_relationship (via_rid) where via_rid is not null;
        """;
}
