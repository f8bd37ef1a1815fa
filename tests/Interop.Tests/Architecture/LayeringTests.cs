using System.Text.RegularExpressions;

namespace Interop.Tests.Architecture;

/// <summary>
/// The folders of the library and of the host form layers: a folder may use only folders below it, so there are
/// no cycles (Storage once used Search, which used Storage). The rule is read from the sources: `using` directives
/// and qualified names (`Storage.ResourceStore`, `Interop.Fhir.Storage.X`).
/// </summary>
public sealed partial class LayeringTests
{
    // Lower numbers are lower layers; folders on one level may not use each other.
    private static readonly Dictionary<string, int> Library = new()
    {
        ["Errors"] = 0, ["Model"] = 1, ["Formats"] = 2, ["Indexing"] = 3, ["Storage"] = 4,
        ["Scopes"] = 2, ["Search"] = 5, ["Patch"] = 5, ["Transactions"] = 6, ["Patients"] = 6, ["Pipeline"] = 7, ["Import"] = 8, ["Security"] = 8, ["Audit"] = 8, ["Validation"] = 8, ["Workflows"] = 8, ["Measures"] = 8, ["Subscriptions"] = 9,
    };

    private static readonly Dictionary<string, int> Host = new() { ["Rest"] = 0, ["Auth"] = 1, ["Web"] = 2, ["Pages"] = 3, ["Hosting"] = 3, ["Seed"] = 4, ["Commands"] = 5 };

    [GeneratedRegex(@"Interop\.(?:Fhir|Server)\.(\w+)")]
    private static partial Regex Qualified();

    [GeneratedRegex(@"(?<![\w.""])([A-Z]\w+)\.[A-Z]")]
    private static partial Regex Relative();

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Interop.sln"))) return dir.FullName;
        throw new InvalidOperationException("Interop.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>(from folder, to folder, file) for every use of one folder by another within a project.</summary>
    private static List<(string From, string To, string File)> Uses(string project, IReadOnlyDictionary<string, int> folders)
    {
        var uses = new List<(string, string, string)>();
        var dir = Path.Combine(Root(), "src", project);
        foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(dir, file);
            var from = relative.Split(Path.DirectorySeparatorChar)[0];
            if (!folders.ContainsKey(from)) continue;
            var code = string.Join('\n', File.ReadAllLines(file).Where(l => !l.TrimStart().StartsWith("//")));
            var names = Qualified().Matches(code).Select(m => m.Groups[1].Value)
                .Concat(Relative().Matches(code).Select(m => m.Groups[1].Value));
            foreach (var to in names.Where(n => n != from && folders.ContainsKey(n)).Distinct())
                uses.Add((from, to, relative));
        }
        return uses;
    }

    [Theory]
    [InlineData("Interop.Fhir")]
    [InlineData("Interop.Server")]
    public void Folders_use_only_folders_below_them(string project)
    {
        var folders = project == "Interop.Fhir" ? Library : Host;
        var uses = Uses(project, folders);
        Assert.NotEmpty(uses); // the reader sees dependencies at all (e.g. Storage uses Indexing)
        var broken = uses.Where(u => folders[u.To] >= folders[u.From])
            .Select(u => $"{u.From} → {u.To} ({u.File})").ToList();
        Assert.True(broken.Count == 0, "layering broken:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void Every_library_folder_has_a_layer()
    {
        var dir = Path.Combine(Root(), "src", "Interop.Fhir");
        var folders = Directory.GetDirectories(dir).Select(Path.GetFileName).Where(n => n is not ("bin" or "obj")).ToList();
        Assert.All(folders, f => Assert.True(Library.ContainsKey(f!), $"folder {f} has no layer in LayeringTests"));
    }

    // The services that reach the data. Only the pipeline's handlers (and the composition root that registers
    // them, and the command-line tools that migrate and reindex the schema) may name them.
    private static readonly string[] DataServices =
    [
        "ResourceStore", "SearchService", "TransactionProcessor", "ConditionalMatcher", "PatientMatcher", "PatientMerge",
        "PatientEverything", "NpgsqlDataSource", "IDocumentStore", "IDocumentSession", "UnitOfWork", "WriteBatch",
    ];

    [Theory]
    [InlineData("Interop.Server", "Rest")]
    [InlineData("Interop.Fhir", "Import")]
    public void Callers_reach_the_data_only_through_the_pipeline(string project, string folder)
    {
        var dir = Path.Combine(Root(), "src", project, folder);
        var files = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(files);
        var leaks = (from file in files
                     let code = File.ReadAllText(file)
                     from name in DataServices
                     where Regex.IsMatch(code, $@"\b{name}\b")
                     select $"{Path.GetFileName(file)} uses {name}").ToList();
        Assert.True(leaks.Count == 0, "callers bypassing the pipeline:\n" + string.Join("\n", leaks));
        Assert.Contains(files, f => File.ReadAllText(f).Contains("Send<")); // and they do use it
    }
}
