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
            // Security on (this server: tokens, scopes, the access policy) against the same build with it off
            // (Auth:Enabled=false) on the same database, alternating in slices.
            await CrudCycle.Run(http, openUrl, options.Workers, TimeSpan.FromSeconds(3));
            var slice = duration / 2;
            var rates = await Alternating.Run(slice,
                (on, d) => CrudCycle.Run(http, on ? options.Url : openUrl, options.Workers, d),
                (on, d) => ReadOnly.Run(http, on ? options.Url : openUrl, options.Workers, d));
            openErrors = rates.Errors;
            double crudOnRate = rates.FirstOn, crudOffRate = rates.FirstOff, readOnRate = rates.SecondOn, readOffRate = rates.SecondOff;
            Console.WriteLine($"security on / off, alternating 4 x 2 slices of {slice.TotalSeconds:F0} s:");
            Console.WriteLine($"  CRUD cycle:  {crudOnRate:F0} / {crudOffRate:F0} req/s = {crudOnRate / crudOffRate:F2} — goal ≥ 0.8");
            Console.WriteLine($"  read-by-id:  {readOnRate:F0} / {readOffRate:F0} req/s = {readOnRate / readOffRate:F2} — goal ≥ 0.8");
            open = new
            {
                crudOn = crudOnRate, crudOff = crudOffRate, crudRatioOnOff = crudOnRate / crudOffRate,
                readOn = readOnRate, readOff = readOffRate, readRatioOnOff = readOnRate / readOffRate,
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
