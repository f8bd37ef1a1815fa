using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Terminology;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Model;
using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Validation;

/// <summary>
/// $validate at type or instance level: the resource (in the body, or the stored one for an instance without a body)
/// checked as <paramref name="Mode"/> would store it (create, update) or remove it (delete), against the R4 rules, its
/// claimed and enforced profiles and <paramref name="Profile"/>. Nothing is stored. A body that did not parse comes as
/// <paramref name="Unparsed"/>, its problems: the answer, after the authorise stage like any call.
/// </summary>
public sealed record ValidateRequest(string Type, string? ResourceId, Resource? Body, string? Mode, string? Profile, OperationOutcome? Unparsed = null) : FhirRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => Type;
    public override string? Id => ResourceId;
    public override string Operation => "validate";
    public override bool ReadsOnlyThroughNested => true; // the stored instance is a nested read
}

/// <summary>$expand, $validate-code and $lookup on ValueSet or CodeSystem (type or instance level), with FHIR Parameters.</summary>
public sealed record TerminologyRequest(string Type, string? ResourceId, string Name, Parameters Input) : FhirRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => Type;
    public override string? Id => ResourceId;
    public override string Operation => Name;
    public override bool ReadsOnlyThroughNested => true; // terminology, no resident's data
}

/// <summary>An operation's answer: one resource (OperationOutcome, Parameters, ValueSet).</summary>
public sealed record ResourceResult(Resource Body) : InteractionResult(ResultKind.Ok);

public sealed class ValidateHandler(ResourceValidator validator) : Handler<ValidateRequest>
{
    protected override async Task<InteractionResult> Handle(ValidateRequest r, InteractionCall call, CancellationToken ct)
    {
        ResourceTypes.Require(r.Type);
        if (r.Unparsed is { } problems) return new ResourceResult(problems);
        var mode = r.Mode ?? (r.ResourceId is null ? "create" : "update");
        if (mode is not ("create" or "update" or "delete"))
            throw FhirException.BadRequest($"mode '{r.Mode}' is not one of create, update, delete.", "mode");
        if (mode == "delete")
        {
            // Nothing of the group's rules stops a delete here; the resource must exist to be deleted.
            if (r.ResourceId is null) throw FhirException.BadRequest("mode=delete needs an instance: POST [type]/[id]/$validate.", "mode");
            await Stored(r, call, ct);
            return new ResourceResult(Outcomes.Information($"{r.Type}/{r.ResourceId} may be deleted."));
        }
        var resource = r.Body;
        if (resource is null)
        {
            if (r.ResourceId is null) throw FhirException.BadRequest("$validate needs a resource: in the body, or as the 'resource' parameter.", "resource");
            resource = await Stored(r, call, ct);
        }
        if (resource.TypeName != r.Type)
            throw FhirException.BadRequest($"The resource is a {resource.TypeName}; this is {r.Type}/$validate.", "resource");
        if (mode == "update" && r.ResourceId is not null && resource.Id != r.ResourceId)
            throw FhirException.BadRequest($"For mode=update the resource's id must be '{r.ResourceId}' (it is '{resource.Id}').", "resource.id");
        var outcome = await validator.Validate(resource, r.Profile, validator.Mode == ValidationMode.Off ? ValidationMode.Profiles : validator.Mode, ct);
        if (outcome.Issue.Count == 0) outcome.Issue.Add(Outcomes.Issue(OperationOutcome.IssueSeverity.Information, OperationOutcome.IssueType.Informational, "No issues: the resource is valid.", null));
        return new ResourceResult(outcome);
    }

    // The stored resource is read as a read of its own: the caller's scopes, compartment and the access policy apply, and it is audited.
    private static async Task<Resource> Stored(ValidateRequest r, InteractionCall call, CancellationToken ct)
    {
        var read = await call.Nested(new ReadRequest(r.Type, r.ResourceId!), ct);
        return FhirSerialization.ParseStored(((VersionResult)read).Version.Json!);
    }
}

/// <summary>The local terminology service over the specification's and the group's ValueSets and CodeSystems.</summary>
public sealed class TerminologyHandler(Conformance conformance) : Handler<TerminologyRequest>
{
    protected override async Task<InteractionResult> Handle(TerminologyRequest r, InteractionCall call, CancellationToken ct)
    {
        var set = await conformance.Current(ct);
        ITerminologyService terminology = set.Terminology;
        var input = (Parameters)r.Input.DeepCopy();
        if (r.ResourceId is not null)
        {
            // Instance level: the stored resource's canonical stands for it.
            var url = set.Stored.GetValueOrDefault($"{r.Type}/{r.ResourceId}") ?? throw FhirException.NotFound($"{r.Type}/{r.ResourceId} does not exist.");
            var name = r.Name == "lookup" ? "system" : "url";
            input.Parameter.RemoveAll(p => p.Name == name);
            input.Add(name, new FhirUri(url));
        }
        try
        {
            Resource answer = (r.Type, r.Name) switch
            {
                ("ValueSet", "expand") => await terminology.Expand(input),
                ("ValueSet", "validate-code") => await terminology.ValueSetValidateCode(input),
                ("CodeSystem", "validate-code") => await terminology.CodeSystemValidateCode(input),
                ("CodeSystem", "lookup") => await CodeLookup.Run(set, input), // not implemented by the SDK's local service
                _ => throw FhirException.NotSupported(ErrorKind.NotSupported, $"${r.Name} is not an operation of {r.Type} here (ValueSet: $expand, $validate-code; CodeSystem: $lookup, $validate-code)."),
            };
            return new ResourceResult(answer);
        }
        catch (Hl7.Fhir.Rest.FhirOperationException e)
        {
            var kind = (int)e.Status == 404 ? ErrorKind.NotFound : (int)e.Status == 422 ? ErrorKind.Unprocessable : ErrorKind.Invalid;
            throw new FhirException(kind, e.Outcome ?? Outcomes.Error(OperationOutcome.IssueType.Processing, e.Message));
        }
    }
}

/// <summary>$lookup over the CodeSystems held here.</summary>
internal static class CodeLookup
{
    /// <summary>$lookup: the concept's display, its code system's name and version, designations and child concepts.</summary>
    public static async Task<Parameters> Run(Conformance.Set set, Parameters input)
    {
        var coding = input.Parameter.FirstOrDefault(p => p.Name == "coding")?.Value as Coding;
        var system = coding?.System ?? (input.Parameter.FirstOrDefault(p => p.Name == "system")?.Value as PrimitiveType)?.ToString();
        var code = coding?.Code ?? (input.Parameter.FirstOrDefault(p => p.Name == "code")?.Value as PrimitiveType)?.ToString();
        if (string.IsNullOrEmpty(system) || string.IsNullOrEmpty(code))
            throw FhirException.BadRequest("$lookup needs system and code (or a coding).", string.IsNullOrEmpty(system) ? "system" : "code");
        if ((await set.Resolver.TryResolveByCanonicalUriAsync(system)).Value is not CodeSystem cs)
            throw FhirException.NotFound($"The code system {system} is not known here (this server holds the specification's and the group's; SNOMED CT and LOINC are not held).", "system");
        var concept = Find(cs.Concept, code)
            ?? throw FhirException.NotFound($"The code '{code}' is not in {system}.", "code");
        var result = new Parameters();
        result.Add("name", new FhirString(cs.Name ?? cs.Title ?? system));
        if (cs.Version is { } version) result.Add("version", new FhirString(version));
        if (concept.Display is { } display) result.Add("display", new FhirString(display));
        foreach (var d in concept.Designation)
            result.Parameter.Add(new Parameters.ParameterComponent
            {
                Name = "designation",
                Part = [new() { Name = "language", Value = d.LanguageElement }, new() { Name = "value", Value = new FhirString(d.Value) }],
            });
        foreach (var child in concept.Concept)
            result.Parameter.Add(new Parameters.ParameterComponent
            {
                Name = "property",
                Part = [new() { Name = "code", Value = new Code("child") }, new() { Name = "value", Value = new Code(child.Code) }],
            });
        return result;
    }

    private static CodeSystem.ConceptDefinitionComponent? Find(IEnumerable<CodeSystem.ConceptDefinitionComponent> concepts, string code)
    {
        foreach (var c in concepts)
            if (c.Code == code) return c;
            else if (Find(c.Concept, code) is { } found) return found;
        return null;
    }
}
