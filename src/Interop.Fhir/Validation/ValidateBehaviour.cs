using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Validation;

/// <summary>
/// The validate stage: every resource a create, update or bundle entry carries is validated before anything is read,
/// locked or stored (the import too, unless it opted out). Errors refuse the call with 422 (a whole transaction); the
/// warnings of a write that passes go back to the caller with Prefer: return=OperationOutcome. A StructureDefinition
/// is also checked for a snapshot the server can generate, so that a profile upload that cannot be used is refused.
/// </summary>
public sealed class ValidateBehaviour(ResourceValidator validator, Conformance conformance) : IInteractionBehaviour
{
    public Stage Stage => Stage.Validate;

    public async ValueTask Before(InteractionCall call, CancellationToken ct)
    {
        if (call.Request.Resource is not { } resource) return;
        if (call.Interaction is not (Interaction.Create or Interaction.ConditionalCreate or Interaction.Update or Interaction.ConditionalUpdate)) return;
        validator.CheckSearchParameter(resource);
        if (call.Context.SkipValidation || validator.Mode == ValidationMode.Off) return;
        if (call.Request is EntryCall) InputGuard.CheckResource(resource, narrative: false); // 400, as for a body of its own
        foreach (var note in await validator.Enforce(resource, ct)) call.Context.Notes.Enqueue(note);
        if (resource is StructureDefinition sd && validator.Mode == ValidationMode.Profiles)
        {
            var set = await conformance.With(sd, ct);
            if (set.Problems.FirstOrDefault(p => sd.Url is not null && p.StartsWith(sd.Url + ":", StringComparison.Ordinal)) is { } problem)
                throw FhirException.Of(ErrorKind.Unprocessable, OperationOutcome.IssueType.Processing, $"The profile cannot be used: {problem}", "StructureDefinition");
        }
    }
}

/// <summary>
/// The publish stage's part of validation: a write of a StructureDefinition, ValueSet or CodeSystem that succeeded makes
/// this server's conformance set stale at once (other servers hear of it from the database, see ConformanceListener).
/// </summary>
public sealed class ConformanceBehaviour(Conformance conformance) : IInteractionBehaviour
{
    public Stage Stage => Stage.Publish;

    public ValueTask After(InteractionCall call, InteractionResult? result, FhirException? error, CancellationToken ct)
    {
        if (error is null && call.Request.ResourceType is { } type && Conformance.Types.Contains(type)
            && call.Interaction is not (Interaction.Read or Interaction.VRead or Interaction.Search or Interaction.History or Interaction.Operation))
            conformance.Invalidate();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The publish stage's part for search parameters: a SearchParameter written (or deleted) on this server is used by its
/// next write and search at once; the backfill and the other servers hear of it from the database (Storage/SearchParamBackfill).
/// </summary>
public sealed class SearchParameterBehaviour(Storage.SearchParamCatalog searchParams) : IInteractionBehaviour
{
    public Stage Stage => Stage.Publish;

    public async ValueTask After(InteractionCall call, InteractionResult? result, FhirException? error, CancellationToken ct)
    {
        if (error is null && call.Request.ResourceType == "SearchParameter"
            && call.Interaction is not (Interaction.Read or Interaction.VRead or Interaction.Search or Interaction.History or Interaction.Operation))
        {
            try
            {
                await searchParams.Reload(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                searchParams.Changed(); // the write is committed: it is not failed for this; the notification reloads it too
            }
        }
    }
}

/// <summary>
/// The authorise stage's rule for the group's implementation guide: what every write is validated against may be
/// changed only by an admin (the role, or the server's own tools). A station's system with system/*.cruds may
/// read the profiles, not rewrite them for everyone.
/// </summary>
public sealed class ConformanceGuard : IInteractionBehaviour
{
    private static readonly HashSet<string> Guarded = [.. Conformance.Types, "SearchParameter", "NamingSystem"];

    public Stage Stage => Stage.Authorise;

    public ValueTask Before(InteractionCall call, CancellationToken ct)
    {
        var caller = call.Context.Caller;
        if (caller.Unrestricted || caller.Roles.Contains("admin") || call.Request.ResourceType is not { } type || !Guarded.Contains(type)) return ValueTask.CompletedTask;
        if (call.Interaction is Interaction.Create or Interaction.ConditionalCreate or Interaction.Update or Interaction.ConditionalUpdate
            or Interaction.Patch or Interaction.ConditionalPatch or Interaction.Delete or Interaction.ConditionalDelete)
            throw FhirException.Forbidden($"Changing a {type} changes what every write is validated against: it needs a token with the admin role.");
        return ValueTask.CompletedTask;
    }
}
