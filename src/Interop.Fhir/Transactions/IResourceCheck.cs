using Hl7.Fhir.Model;

namespace Interop.Fhir.Transactions;

/// <summary>
/// The check a resource the server computes itself must pass before it is stored: a patch's result (JSON Patch or
/// FHIRPath Patch), which the validate stage cannot see because it exists only inside the handler.
/// </summary>
public interface IResourceCheck
{
    /// <summary>Throws a 422 FhirException when <paramref name="resource"/> may not be stored.</summary>
    Task Check(Resource resource, CancellationToken ct);

    public static readonly IResourceCheck None = new Nothing();

    private sealed class Nothing : IResourceCheck
    {
        public Task Check(Resource resource, CancellationToken ct) => Task.CompletedTask;
    }
}
