using JasperFx;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Fhir.Storage;

public static class StorageSetup
{
    public const string Schema = "fhir";
    public const string CurrentTable = Schema + ".mt_doc_resourcedoc";
    public const string VersionTable = Schema + ".mt_doc_resourceversiondoc";

    /// <summary>
    /// Registers Marten (schema created or migrated at start), the raw Npgsql data source used for the hot
    /// read paths, and the resource store.
    /// </summary>
    public static IServiceCollection AddFhirStorage(this IServiceCollection services, string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = "interop" };
        // The same few statements run all the time: let Npgsql prepare them (saves parse/plan per call),
        // and skip the session reset on return to the pool (we never change session state).
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0) builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        var dataSource = builder.Build();
        services.AddSingleton(dataSource);
        services.AddMarten(options => ConfigureMarten(options, dataSource))
            .UseLightweightSessions()
            .ApplyAllDatabaseChangesOnStartup();
        services.AddSingleton<ResourceStore>();
        services.AddSingleton<Search.SearchService>();
        services.AddSingleton<Transactions.ConditionalMatcher>();
        services.AddSingleton<Transactions.TransactionProcessor>();
        services.AddSingleton<Patients.PatientMatcher>();
        services.AddSingleton<Patients.PatientMerge>();
        services.AddSingleton<Patients.PatientEverything>();
        services.AddHostedService<SearchSchemaStartup>();
        return services;
    }

    public static void ConfigureMarten(StoreOptions options, NpgsqlDataSource dataSource)
    {
        options.Connection(dataSource);
        options.DatabaseSchemaName = Schema;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        // Hot columns are duplicated out of the jsonb body so reads and history never parse it for filtering.
        options.Schema.For<ResourceDoc>()
            .Duplicate(x => x.ResourceType)
            .Duplicate(x => x.ResourceId)
            .Duplicate(x => x.Deleted)
            .Duplicate(x => x.LastUpdated);
        options.Schema.For<ResourceVersionDoc>()
            .Duplicate(x => x.Key)
            .Duplicate(x => x.ResourceType)
            .Duplicate(x => x.LastUpdated);
    }
}
