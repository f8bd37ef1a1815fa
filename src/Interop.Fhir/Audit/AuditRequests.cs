using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Audit;

/// <summary>
/// A reading of the access log. The authorise stage (<see cref="AuditAccessBehaviour"/>) sets <see cref="Patient"/>
/// for a resident, who then sees only the records about them, without other clients' addresses and ids.
/// </summary>
public abstract record AuditLogRequest : FhirRequest
{
    public override string ResourceType => "AuditEvent";
    public override bool ReadsAccessLog => true;
    /// <summary>Set by the authorise stage: only records about this patient ("Patient/…"), shown to them.</summary>
    public string? Patient { get; set; }
    /// <summary>What the audit stage records as this reading's query.</summary>
    public abstract string Describe();
}

public sealed record AuditSearchRequest(AuditQuery Query) : AuditLogRequest
{
    public override Interaction Interaction => Interaction.Search;
    public override string Describe() => "AuditEvent?" + string.Join('&', Query.Echo.Select(kv => $"{kv.Key}={kv.Value}"));
}

public sealed record AuditReadRequest(string EventId) : AuditLogRequest
{
    public override Interaction Interaction => Interaction.Read;
    public override string Id => EventId;
    public override string Describe() => $"AuditEvent/{EventId}";
}

/// <summary>$verify: the hash chains of the days from <paramref name="Start"/> to <paramref name="End"/> (all days when null).</summary>
public sealed record AuditVerifyRequest(DateOnly? Start, DateOnly? End) : AuditLogRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string Operation => "verify";
    public override string Describe() => $"AuditEvent/$verify?start={Start}&end={End}";
}

/// <summary>$access-report: who, at which institution, accessed the patient's record, and when.</summary>
public sealed record AccessReportRequest(string PatientRef, DateTimeOffset Start, DateTimeOffset End) : AuditLogRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string Operation => "access-report";
    public override string Describe() => $"AuditEvent/$access-report?patient={PatientRef}&start={Start:O}&end={End:O}";
}

/// <summary>$export: every record of a period, as NDJSON.</summary>
public sealed record AuditExportRequest(DateTimeOffset Start, DateTimeOffset End) : AuditLogRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string Operation => "export";
    public override string Describe() => $"AuditEvent/$export?start={Start:O}&end={End:O}";
}

/// <summary>A page of records (JSON as stored), the cursor of the next page, and the total when asked.</summary>
public sealed record StoredAudit(Guid Id, DateTimeOffset Recorded, string Json);

public sealed record AuditPage(IReadOnlyList<StoredAudit> Records, (DateTimeOffset Recorded, Guid Id)? Next, int? Total, string Query)
    : InteractionResult(Model.ResultKind.Ok);

public sealed record AuditRecordResult(StoredAudit Record) : InteractionResult(Model.ResultKind.Ok);

public sealed record VerifyResult(ChainReport Report) : InteractionResult(Model.ResultKind.Ok);

/// <summary>One line of an access report: when, who (person and institution), what they did, to what, and a break-glass access's reason.</summary>
public sealed record AccessLine(DateTimeOffset Recorded, string? Institution, string? Person, string Client, string Action, string Subtype, int Outcome, string What, bool BreakGlass,
    string? Reason = null);

public sealed record AccessReportResult(string Patient, DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<AccessLine> Lines)
    : InteractionResult(Model.ResultKind.Ok);

/// <summary>The records of a period, written out when the answer is sent (the connection lives as long as the stream).</summary>
public sealed record AuditExportResult(Func<Stream, CancellationToken, Task> WriteTo) : InteractionResult(Model.ResultKind.Ok);
