using Interop.Fhir.Patients;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Server.Hosting;

/// <summary>
/// The composition root: every layer of the library registered in one place, for the web host and for the
/// command-line tools alike. The library's folders register nothing of each other's.
/// </summary>
public static class Composition
{
    public static IServiceCollection AddInteropServices(this IServiceCollection services, string connectionString, IConfiguration configuration)
    {
        var fhir = configuration.GetSection("Fhir");
        services.AddFhirStorage(connectionString, fhir.Get<StorageOptions>() ?? new StorageOptions());
        services.AddSingleton<SearchService>();
        services.AddSingleton<ConditionalMatcher>();
        services.AddSingleton<ConditionalLocks>();
        services.AddSingleton<TransactionProcessor>();
        services.PostConfigure<TransactionOptions>(o => o.AllowMultipleDelete = fhir.GetValue<bool>("AllowMultipleDelete"));
        services.AddSingleton<PatientMatcher>();
        services.AddSingleton<PatientMerge>();
        services.AddSingleton<PatientEverything>();
        return services;
    }
}
