using JasperFx;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>Storage settings, read from the "Fhir" configuration section.</summary>
public sealed class StorageOptions
{
    /// <summary>How long one search statement may run before PostgreSQL stops it (503).</summary>
    public int SearchTimeoutSeconds { get; set; } = 30;
    /// <summary>How long a write waits for a lock another request holds before it gives up (409, retry).</summary>
    public int LockTimeoutSeconds { get; set; } = 10;
    /// <summary>Apply schema migrations at start (on by default); off, the server requires them applied (./interop.sh migrate).</summary>
    public bool MigrateOnStart { get; set; } = true;
    /// <summary>After migrating, grant this role read and write on the data and nothing else (the server's own role).</summary>
    public string? GrantTo { get; set; }
    /// <summary>How long the change feed waits for a gap in its sequence (a transaction in flight) before passing it over.</summary>
    public int ChangeSettleSeconds { get; set; } = 30;
    /// <summary>How long a finished referral or encounter still lets its institution see the resident's record.</summary>
    public int RelationshipDays { get; set; } = 365;
}

public static class StorageSetup
{
    public const string Schema = "fhir";
    public const string CurrentTable = Schema + ".mt_doc_resourcedoc";
    public const string VersionTable = Schema + ".mt_doc_resourceversiondoc";
    /// <summary>The service key of the data source searches run on.</summary>
    public const string SearchDatabase = "search";

    /// <summary>
    /// Registers the storage layer only: Marten (schema created or migrated at start), the Npgsql data sources (the
    /// main pool and the search pool) and the resource store. The host composes the layers above it.
    /// </summary>
    public static IServiceCollection AddFhirStorage(this IServiceCollection services, string connectionString, StorageOptions? options = null)
    {
        options ??= new StorageOptions();
        services.AddSingleton(options);
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = "interop" };
        // The same few statements run all the time: let Npgsql prepare them (saves parse/plan per call),
        // and skip the session reset on return to the pool (we never change session state).
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0) builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        var dataSource = builder.Build();
        services.AddSingleton(dataSource);
        // Searches get their own pool whose sessions always plan with the actual values: a generic plan, which
        // PostgreSQL may switch a prepared statement to after five runs, cannot know that one code matches 26,000
        // rows and another 12, and picks plans that are seconds slow for the skewed ones.
        var searchBuilder = new NpgsqlDataSourceBuilder(connectionString) { Name = "interop-search" };
        searchBuilder.ConnectionStringBuilder.MaxAutoPrepare = builder.ConnectionStringBuilder.MaxAutoPrepare; // parsed once, planned each time
        searchBuilder.ConnectionStringBuilder.NoResetOnClose = true;
        // Half the connections of the main pool on top of it: both together stay well inside max_connections.
        searchBuilder.ConnectionStringBuilder.MaxPoolSize = Math.Max(10, builder.ConnectionStringBuilder.MaxPoolSize / 2);
        // A search may run for SearchTimeoutSeconds; PostgreSQL stops it then (503), and the client-side timeout
        // sits a little above so that the server's cancellation, which leaves the connection usable, comes first.
        searchBuilder.ConnectionStringBuilder.Options = (searchBuilder.ConnectionStringBuilder.Options +
            $" -c plan_cache_mode=force_custom_plan -c statement_timeout={options.SearchTimeoutSeconds * 1000}").Trim();
        searchBuilder.ConnectionStringBuilder.CommandTimeout = options.SearchTimeoutSeconds + 5;
        services.AddKeyedSingleton(SearchDatabase, searchBuilder.Build());
        // A server that may not migrate does no DDL at all, Marten's included: it may run as a role that cannot.
        var marten = services.AddMarten(o => ConfigureMarten(o, dataSource, options.MigrateOnStart)).UseLightweightSessions();
        if (options.MigrateOnStart) marten.ApplyAllDatabaseChangesOnStartup();
        services.AddSingleton<ChangeFeed>();
        services.AddSingleton<PlannerStatistics>();
        services.AddSingleton<SearchParamCatalog>();
        services.AddSingleton<ResourceStore>();
        services.AddSingleton<Reindexer>();
        services.AddHostedService<SearchSchemaStartup>();
        services.AddHostedService<SearchParamBackfill>(); // after the migrations: it reads their tables at start
        return services;
    }

    public static void ConfigureMarten(StoreOptions options, NpgsqlDataSource dataSource, bool migrate = true)
    {
        options.Connection(dataSource);
        options.DatabaseSchemaName = Schema;
        options.AutoCreateSchemaObjects = migrate ? AutoCreate.CreateOrUpdate : AutoCreate.None;
        // Hot columns are duplicated out of the jsonb body so reads and history never parse it for filtering.
        options.Schema.For<ResourceDoc>()
            .Duplicate(x => x.Rid, configure: index => index.IsUnique = true) // two keys never share a compact key
            .Duplicate(x => x.ResourceType)
            .Duplicate(x => x.ResourceId)
            .Duplicate(x => x.Deleted)
            .Duplicate(x => x.LastUpdated);
        // The migrations' own indexes on it: without this, Marten's start drops them (it did, from migration 1 on).
        foreach (var index in SearchSchema.OnResourceTable) options.Schema.For<ResourceDoc>().IgnoreIndex(index);
        options.Schema.For<ResourceVersionDoc>()
            .Duplicate(x => x.Key)
            .Duplicate(x => x.ResourceType)
            .Duplicate(x => x.LastUpdated);
        // The change feed: one event per new version, the resource key as the stream. Quick append writes the
        // events in the same statement batch as the documents, without reading the stream's version first.
        options.Events.DatabaseSchemaName = Schema;
        options.Events.StreamIdentity = JasperFx.Events.StreamIdentity.AsString;
        options.Events.AppendMode = JasperFx.Events.EventAppendMode.Quick;
        options.Events.AddEventType<ResourceChanged>();
    }
}
