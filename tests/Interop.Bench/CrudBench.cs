namespace Interop.Bench;

/// <summary>Raw PostgreSQL insert/select-by-id vs the server's CRUD cycle and read-by-id.</summary>
public static class CrudBench
{
    public static async Task<int> Run(Args options, HttpClient http)
    {
        var duration = TimeSpan.FromSeconds(options.Seconds);
        var raw = await RawBaseline.Run(options.Pg, options.Workers, duration);
        await CrudCycle.Run(http, options.Url, options.Workers, TimeSpan.FromSeconds(3)); // warm-up (JIT, pools)
        var crud = await CrudCycle.Run(http, options.Url, options.Workers, duration);
        var readOnly = await ReadOnly.Run(http, options.Url, options.Workers, duration);

        var rawRows = raw.Stats.Rows(raw.InsertTime).Where(r => r.Name == "raw insert")
            .Concat(raw.Stats.Rows(raw.SelectTime).Where(r => r.Name == "raw select-by-id")).ToList();
        var crudRows = crud.Stats.Rows(crud.Elapsed).ToList();
        var readRow = readOnly.Stats.Rows(readOnly.Elapsed).Single();
        var crudPerSecond = crud.Stats.Count / crud.Elapsed.TotalSeconds;
        var rawSelect = rawRows.Single(r => r.Name == "raw select-by-id").PerSecond;

        Console.WriteLine();
        Report.Header();
        foreach (var r in rawRows.Concat(crudRows).Append(readRow)) Report.Row(r);
        Console.WriteLine();
        Console.WriteLine($"CRUD cycle overall:      {crudPerSecond:F0} req/s ({crud.Stats.Errors} errors) — goal ≥ 1300");
        Console.WriteLine($"read-by-id alone:        {readRow.PerSecond:F0} req/s vs raw select-by-id {rawSelect:F0}/s");
        Console.WriteLine($"ratio server/raw read:   {readRow.PerSecond / rawSelect:F2} — goal ≥ 0.5");
        object? open = null;
        var openErrors = 0L;
        if (options.OpenUrl is { } openUrl)
        {
            // The same phases against the same build with security off (Auth:Enabled=false), in this run.
            await CrudCycle.Run(http, openUrl, options.Workers, TimeSpan.FromSeconds(3));
            var openCrud = await CrudCycle.Run(http, openUrl, options.Workers, duration);
            var openRead = await ReadOnly.Run(http, openUrl, options.Workers, duration);
            var openCrudPerSecond = openCrud.Stats.Count / openCrud.Elapsed.TotalSeconds;
            var openReadRow = openRead.Stats.Rows(openRead.Elapsed).Single();
            openErrors = openCrud.Stats.Errors + openRead.Stats.Errors;
            Console.WriteLine($"security off (same build): CRUD {openCrudPerSecond:F0} req/s, read-by-id {openReadRow.PerSecond:F0} req/s");
            Console.WriteLine($"security on ÷ off:       CRUD {crudPerSecond / openCrudPerSecond:F2}, read-by-id {readRow.PerSecond / openReadRow.PerSecond:F2} — goal ≥ 0.8");
            open = new
            {
                crudPerSecond = openCrudPerSecond, readPerSecond = openReadRow.PerSecond,
                crudRatioOnOff = crudPerSecond / openCrudPerSecond, readRatioOnOff = readRow.PerSecond / openReadRow.PerSecond,
            };
        }
        await Report.Write(options.Out, new
        {
            machine = new { cores = Environment.ProcessorCount, options.Workers, secondsPerPhase = options.Seconds },
            raw = rawRows, crud = crudRows, crudPerSecond, crudErrors = crud.Stats.Errors,
            readAlone = readRow, readErrors = readOnly.Stats.Errors, rawSelectPerSecond = rawSelect, readRatio = readRow.PerSecond / rawSelect,
            securityOff = open,
        });
        return crud.Stats.Errors == 0 && readOnly.Stats.Errors == 0 && openErrors == 0 ? 0 : 1;
    }
}
