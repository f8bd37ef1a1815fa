using System.Text.Json;

namespace Interop.Fhir.Import;

/// <summary>
/// What an import has finished, saved after every unit, so an interrupted import resumes where it stopped.
/// A unit is identified by file path, size, modification time, replica and (for NDJSON) chunk.
/// </summary>
public sealed class ImportState
{
    private readonly string? _path;
    private readonly HashSet<string> _done;
    private readonly Lock _lock = new();

    private ImportState(string? path, HashSet<string> done) { _path = path; _done = done; }

    public static ImportState Load(string? path) =>
        new(path, path is not null && File.Exists(path) ? JsonSerializer.Deserialize<HashSet<string>>(File.ReadAllText(path)) ?? [] : []);

    public static string Key(string file, int replica, int chunk)
    {
        var info = new FileInfo(file);
        return $"{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}|{replica}|{chunk}";
    }

    public bool IsDone(string key) { lock (_lock) return _done.Contains(key); }

    public void MarkDone(string key)
    {
        lock (_lock)
        {
            _done.Add(key);
            if (_path is null) return;
            var tmp = _path + ".tmp";
            File.WriteAllText(tmp, JsonSerializer.Serialize(_done));
            File.Move(tmp, _path, overwrite: true);
        }
    }

    public int Count { get { lock (_lock) return _done.Count; } }
}
