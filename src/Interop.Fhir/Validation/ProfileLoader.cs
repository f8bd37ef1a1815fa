using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Interop.Fhir.Validation;

/// <summary>
/// At start: compiles the specification's schemas of the common types (once per process, so the first request does
/// not pay seconds for it), then stores the group's implementation guide (profiles/, copied beside the server) through
/// the pipeline as the system — validated and audited like any write. A file is stored when the server has no resource
/// of its id, or has one of another `version` (a new release of the guide); a resource an admin changed at run time
/// under the same version is left as it is. Order: code systems, value sets, naming systems, extensions, profiles, search parameters.
/// </summary>
public sealed class ProfileLoader(FhirPipeline pipeline, Conformance conformance, ValidationOptions options, ILogger<ProfileLoader> log) : IHostedService
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "profiles");

    private static readonly SemaphoreSlim Warming = new(1, 1);
    private static bool _warm;

    public async Task StartAsync(CancellationToken ct)
    {
        var files = Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal).ToList() : [];
        var resources = files.Select(f => FhirSerialization.ParseJson(File.ReadAllBytes(f))).OrderBy(Rank).ToList();
        if (resources.FirstOrDefault(r => string.IsNullOrEmpty(r.Id)) is { } nameless)
            throw new InvalidOperationException($"A {nameless.TypeName} in {Folder} has no id: every file of the guide names its resource's id.");
        var context = RequestContext.ForSystem("profiles");
        var stored = 0;
        foreach (var resource in resources)
        {
            var version = (resource as IVersionableConformanceResource)?.Version;
            try
            {
                var current = await pipeline.Send<VersionResult>(context, new ReadRequest(resource.TypeName, resource.Id!), ct);
                if (FhirSerialization.ParseStored(current.Version.Json!) is not IVersionableConformanceResource existing || existing.Version == version) continue;
            }
            catch (FhirException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.Gone)
            {
            }
            await pipeline.Send<VersionResult>(context, new UpdateRequest(resource, resource.Id!), ct);
            stored++;
        }
        if (stored > 0) log.LogInformation("Stored {Count} of the {Total} conformance resources in {Folder}", stored, resources.Count, Folder);
        await Warm(ct);
    }

    /// <summary>Compiles the common types' schemas (the first server of the process) and the group's profiles.</summary>
    private async Task Warm(CancellationToken ct)
    {
        if (options.Mode == ValidationMode.Off) return;
        var set = await conformance.Current(ct);
        await Warming.WaitAsync(ct);
        try
        {
            if (!_warm)
                foreach (var type in CoreSpec.Common)
                    set.Validator.Validate((Resource)Activator.CreateInstance(ModelInfo.GetTypeForFhirType(type)!)!);
            _warm = true;
        }
        finally
        {
            Warming.Release();
        }
        foreach (var (url, sd) in set.Profiles)
            if (sd.Kind == StructureDefinition.StructureDefinitionKind.Resource)
                set.Validator.Validate((Resource)Activator.CreateInstance(ModelInfo.GetTypeForFhirType(sd.Type!)!)!, url);
    }

    private static int Rank(Resource r) => r switch
    {
        CodeSystem => 0,
        ValueSet => 1,
        NamingSystem => 2,
        StructureDefinition { Type: "Extension" } => 3,
        StructureDefinition => 4,
        _ => 5,
    };

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
