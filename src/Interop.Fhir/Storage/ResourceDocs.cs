namespace Interop.Fhir.Storage;

/// <summary>
/// The current state of one resource (Marten document, id "{type}/{id}"): the latest version's JSON,
/// exactly as it is served, and the metadata reads and searches need. Deleted resources keep a row
/// (Deleted = true, Json = null) so a read can answer 410 instead of 404.
/// </summary>
public sealed class ResourceDoc
{
    public string Id { get; set; } = "";
    /// <summary>The compact key (<see cref="CompactKeys"/>): what the index rows carry instead of <see cref="Id"/>.</summary>
    public long Rid { get; set; }
    public string ResourceType { get; set; } = "";
    public string ResourceId { get; set; } = "";
    public int VersionId { get; set; }
    public DateTimeOffset LastUpdated { get; set; }
    public bool Deleted { get; set; }
    /// <summary>The client (institution system) that wrote this version.</summary>
    public string Writer { get; set; } = "";
    /// <summary>The institution the writer acted for ("Organization/…"): the access policy lets it see what it wrote.</summary>
    public string? Institution { get; set; }
    public string? Json { get; set; }
    // The search index of this version lives in the ix_* tables (Storage/SearchSchema), keyed by Id and
    // written in the same transaction.
}

/// <summary>One immutable version of a resource (Marten document, id "{type}/{id}/{version}"): the history.</summary>
public sealed class ResourceVersionDoc
{
    public string Id { get; set; } = "";
    /// <summary>"{type}/{id}", shared by all versions of one resource.</summary>
    public string Key { get; set; } = "";
    public string ResourceType { get; set; } = "";
    public string ResourceId { get; set; } = "";
    public int VersionId { get; set; }
    public DateTimeOffset LastUpdated { get; set; }
    public bool Deleted { get; set; }
    /// <summary>POST, PUT or DELETE: the interaction that made this version (history bundles report it).</summary>
    public string Method { get; set; } = "";
    public string Writer { get; set; } = "";
    public string? Institution { get; set; }
    public string? Json { get; set; }
}

/// <summary>What a read returns: one version with its metadata and stored JSON (null for a deletion).</summary>
public sealed record StoredVersion(
    string ResourceType, string Id, int VersionId, DateTimeOffset LastUpdated, bool Deleted, string Method, string? Json)
{
    public string Key => $"{ResourceType}/{Id}";
    public string ETag => $"W/\"{VersionId}\"";
}
