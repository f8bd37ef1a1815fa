using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Indexing;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Scopes;
using Interop.Fhir.Search;

namespace Interop.Fhir.Security;

/// <summary>
/// The authorise stage's first check: the token's SMART scopes must allow the interaction on every resource type
/// it touches (a search's types and the types its _include and _revinclude bring back). A refusal is a 403 that
/// names a scope which would have allowed the call. Bundle entries are checked one by one as they pass the gate.
/// </summary>
public sealed class ScopeBehaviour : IInteractionBehaviour
{
    public Stage Stage => Stage.Authorise;

    public ValueTask Before(InteractionCall call, CancellationToken ct)
    {
        var caller = call.Context.Caller;
        if (caller.Unrestricted) return ValueTask.CompletedTask;
        if (!caller.Authenticated)
            throw FhirException.Unauthenticated();
        var needed = Needed(call.Request);
        if (needed == Permission.None) return ValueTask.CompletedTask;
        foreach (var type in Types(call.Request))
            Require(caller, type, needed, call.Request);
        if (call.Request is SearchRequest search)
            foreach (var type in IncludedTypes(search))
                Require(caller, type, Permission.Read, call.Request);
        return ValueTask.CompletedTask;
    }

    private static void Require(Caller caller, string type, Permission needed, FhirRequest request)
    {
        var granting = caller.Grants.For(type, needed).ToList();
        // A user/ scope stands for what its user may see: without a fhirUser it means nothing (elsewhere a token
        // like that once read every patient). A patient/ scope needs the patient it is about.
        if (granting.Any(s => s.Context switch
            {
                ScopeContext.User => caller.FhirUser is not null,
                ScopeContext.Patient => caller.Patient is not null,
                _ => true,
            })) return;
        if (granting.Count > 0)
            throw FhirException.Forbidden(granting[0].Context == ScopeContext.User
                ? $"The access token's {granting[0].Text} scope needs a fhirUser (the user's own resource), and the token has none."
                : $"The access token's {granting[0].Text} scope needs a patient in context (launch/patient), and the token has none.");
        var context = caller.Patient is not null ? ScopeContext.Patient : caller.FhirUser is not null ? ScopeContext.User : ScopeContext.System;
        var what = request.Operation is { } op ? $"${op}" : request.Interaction.ToString().ToLowerInvariant();
        var on = type == "*" ? "all resource types" : type;
        throw FhirException.Forbidden(
            $"The access token's scopes do not allow {what} on {on}: it needs a scope such as {Grants.Example(context, type, needed)}.");
    }

    /// <summary>The permission an interaction needs, or None for a bundle (its entries are checked one by one).</summary>
    public static Permission Needed(FhirRequest request) => request.Interaction switch
    {
        Interaction.Read or Interaction.VRead => Permission.Read,
        Interaction.Search or Interaction.History => Permission.Search,
        Interaction.Create or Interaction.ConditionalCreate => Permission.Create,
        Interaction.Update or Interaction.ConditionalUpdate or Interaction.Patch or Interaction.ConditionalPatch => Permission.Update,
        Interaction.Delete or Interaction.ConditionalDelete => Permission.Delete,
        Interaction.Transaction or Interaction.Batch => Permission.None,
        _ => request.Operation switch
        {
            "match" or "changes" or "evaluate-measure" => Permission.Search,
            "merge" or "renew" => Permission.Update,
            "enrol" => Permission.Create, // its reads and its transaction are checked again as nested requests
            _ => Permission.Read, // $everything and other reading operations
        },
    };

    /// <summary>The resource types a request is about: "*" when it spans every type (system search, history, the change feed).</summary>
    private static IEnumerable<string> Types(FhirRequest request) => request switch
    {
        SearchRequest { Query.Types.Count: > 0 } s => s.Query.Types,
        EvaluateMeasureRequest => EvaluateMeasureRequest.Counted,
        _ => [request.ResourceType ?? "*"],
    };

    // _include brings back the parameter's targets (all of them unless one is named; "*" for _include=*), and
    // _revinclude the resources of its source type.
    private static IEnumerable<string> IncludedTypes(SearchRequest search) =>
        search.Query.Includes.SelectMany(Targets)
            .Concat(search.Query.RevIncludes.Select(i => i.SourceType))
            .Distinct();

    private static IEnumerable<string> Targets(IncludeSpec include) =>
        include.TargetType is { } t ? [t]
        : SearchParamRegistry.Find(include.SourceType, include.Param) is { Targets.Count: > 0 } p ? p.Targets
        : ["*"];
}
