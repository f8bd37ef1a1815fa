using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Scopes;
using Npgsql;

namespace Interop.Fhir.Audit;

/// <summary>
/// Who may read the access log (first in the authorise stage, so a write is 405 whatever the scopes): auditors (role auditor with a user scope
/// naming AuditEvent, or a system client with system/AuditEvent scopes) read all of it; a resident with
/// patient/AuditEvent.rs reads the records about themself: searches, single records and their own $access-report. Nobody writes it.
/// </summary>
public sealed class AuditAccessBehaviour : IInteractionBehaviour
{
    public Stage Stage => Stage.Authorise;

    public ValueTask Before(InteractionCall call, CancellationToken ct)
    {
        var request = call.Request;
        if (request.ResourceType == Grants.NamedOnly && request is not AuditLogRequest && ScopeWrites(request.Interaction))
            throw FhirException.NotSupported(ErrorKind.NotSupported, "AuditEvents are written by the server only: the access log cannot be created, changed or deleted through the API.");
        if (request is not AuditLogRequest log) return ValueTask.CompletedTask;
        var caller = call.Context.Caller;
        if (caller.Unrestricted) return ValueTask.CompletedTask;
        if (!caller.Authenticated) throw FhirException.Unauthenticated();
        var needed = request.Interaction == Interaction.Read ? Permission.Read : Permission.Search;
        var granting = caller.Grants.For(Grants.NamedOnly, needed).ToList();
        if (granting.Any(s => s.Context == ScopeContext.System && caller.FhirUser is null && caller.Patient is null)
            || granting.Any(s => s.Context == ScopeContext.User) && caller.Roles.Contains("auditor"))
            return ValueTask.CompletedTask;
        if (granting.Any(s => s.Context == ScopeContext.Patient) && caller.Patient is { } patient)
        {
            if (request is not (AuditSearchRequest or AuditReadRequest or AccessReportRequest))
                throw FhirException.Forbidden($"A resident reads the records about them (search, read and their access report); ${request.Operation} is for auditors.");
            log.Patient = "Patient/" + patient;
            if (log is AccessReportRequest report && report.PatientRef != log.Patient)
                throw FhirException.Forbidden("A resident reads the access report of their own record only: patient must be their own.");
            if (log is AuditSearchRequest search)
            {
                // Not even whether records about someone else exist beside theirs.
                if (search.Query.PatientsAsked.Any(p => p != log.Patient))
                    throw FhirException.Forbidden("A resident reads the records about them only: patient must be their own.");
                search.Query.Confine(log.Patient);
            }
            return ValueTask.CompletedTask;
        }
        throw FhirException.Forbidden("Reading the access log needs the auditor role (with a user/AuditEvent scope), a system/AuditEvent scope, " +
                                      "or, for a resident's own records, patient/AuditEvent.rs.");
    }

    private static bool ScopeWrites(Interaction i) => i is Interaction.Create or Interaction.ConditionalCreate or Interaction.Update
        or Interaction.ConditionalUpdate or Interaction.Patch or Interaction.ConditionalPatch or Interaction.Delete or Interaction.ConditionalDelete;
}

public sealed class AuditSearchHandler(AuditStore store) : Handler<AuditSearchRequest>
{
    protected override async Task<InteractionResult> Handle(AuditSearchRequest r, InteractionCall call, CancellationToken ct)
    {
        var page = await store.Search(r.Query, ct);
        var records = r.Patient is null ? page.Records
            : page.Records.Select(a => a with { Json = AuditStore.ForResident(a.Json, call.Context.Caller.Client, r.Patient) }).ToList();
        return page with { Records = records, Query = r.Describe() };
    }
}

public sealed class AuditReadHandler(AuditStore store) : Handler<AuditReadRequest>
{
    protected override async Task<InteractionResult> Handle(AuditReadRequest r, InteractionCall call, CancellationToken ct)
    {
        var found = await store.Read(r.EventId, r.Patient, ct) ?? throw FhirException.NotFound($"AuditEvent/{r.EventId} does not exist.");
        return new AuditRecordResult(r.Patient is null ? found : found with { Json = AuditStore.ForResident(found.Json, call.Context.Caller.Client, r.Patient) });
    }
}

public sealed class AuditVerifyHandler(NpgsqlDataSource db, AuditOptions options) : Handler<AuditVerifyRequest>
{
    protected override async Task<InteractionResult> Handle(AuditVerifyRequest r, InteractionCall call, CancellationToken ct) =>
        new VerifyResult(await AuditChain.Verify(db, r.Start, r.End, options.SealKey, ct));
}

public sealed class AccessReportHandler(AuditStore store) : Handler<AccessReportRequest>
{
    protected override async Task<InteractionResult> Handle(AccessReportRequest r, InteractionCall call, CancellationToken ct) =>
        new AccessReportResult(r.PatientRef, r.Start, r.End, r.Patient is null ? await store.Report(r.PatientRef, r.Start, r.End, ct)
            : (await store.Report(r.Patient, r.Start, r.End, ct)).Select(line => AuditStore.ForResident(line, call.Context.Caller.Client, r.Patient)).ToList());
}

public sealed class AuditExportHandler(AuditStore store) : Handler<AuditExportRequest>
{
    protected override Task<InteractionResult> Handle(AuditExportRequest r, InteractionCall call, CancellationToken ct) =>
        Task.FromResult<InteractionResult>(new AuditExportResult((output, token) => store.Export(r.Start, r.End, output, token)));
}
