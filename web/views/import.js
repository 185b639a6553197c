// CSV import of clients: upload → dry-run report (nothing written) → Import.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { errorBanner, importReasonText, panel, toast } from "../ui.js";

export function renderImport() {
  const fileInput = h("input", { type: "file", accept: ".csv,text/csv", name: "file", testid: "import-file" });
  const checkButton = h("button", { type: "submit", class: "btn", testid: "import-check" }, t("import.check"));
  const applyButton = h("button", { type: "button", class: "btn btn-primary", testid: "import-apply", disabled: true, onclick: () => run(false) }, t("import.apply"));
  const report = h("div", { class: "import-report", testid: "import-report" });
  let checkedFile = null;

  fileInput.addEventListener("change", () => {
    checkedFile = null;
    applyButton.disabled = true;
    mount(report);
  });

  const form = h("form", { class: "form import-form", testid: "import-form", onsubmit: (e) => { e.preventDefault(); run(true); } },
    h("p", { class: "muted" }, t("import.help")),
    h("p", { class: "muted" }, t("import.columns")),
    h("div", { class: "import-controls" }, fileInput, checkButton, applyButton),
  );

  async function run(dryRun) {
    const file = fileInput.files[0];
    if (!file) {
      mount(report, errorBanner(t("import.choose_file")));
      fileInput.focus();
      return;
    }
    const data = new FormData();
    data.append("file", file, file.name);
    checkButton.disabled = true;
    applyButton.disabled = true;
    mount(report, h("div", { class: "loading" }, h("span", { class: "spinner" }), dryRun ? t("import.checking") : t("import.importing")));
    try {
      const result = await api("POST", "/import/clients", { form: data, query: { dry_run: dryRun ? 1 : 0 } });
      mount(report, renderReport(result));
      if (dryRun) {
        checkedFile = file;
        applyButton.disabled = false;
        applyButton.focus();
      } else {
        checkedFile = null;
        toast(t("import.done"), "success");
      }
    } catch (err) {
      if (err.status === 401) return;
      mount(report, errorBanner(err.message, "import-error"));
    } finally {
      checkButton.disabled = false;
      if (checkedFile === file) applyButton.disabled = false;
    }
  }

  return {
    title: t("import.title"),
    el: h("div", { class: "page page-narrow" },
      h("h1", { class: "page-title" }, t("import.title")),
      panel({ title: t("import.upload") }, form),
      report,
    ),
  };
}

function renderReport(result) {
  const rejected = result.rejected || [];
  const merged = result.merged_into || [];
  const conflicts = result.conflicts || [];
  const stat = (key, value, kind) => h("div", { class: ["stat", kind && "stat-" + kind], testid: "import-stat-" + key },
    h("div", { class: "stat-value" }, String(value ?? 0)),
    h("div", { class: "stat-label" }, t("import.stat." + key)),
  );
  return panel({ title: result.dry_run ? t("import.preview") : t("import.result") },
    result.dry_run && h("p", { class: "muted" }, t("import.preview_note")),
    h("div", { class: "stats" },
      stat("total", result.total_rows),
      stat("created", result.created, "ok"),
      stat("merged", result.merged, "info"),
      stat("merged_in_file", result.merged_in_file, "info"),
      stat("conflicts", conflicts.length, conflicts.length ? "info" : null),
      stat("rejected", rejected.length, rejected.length ? "bad" : null),
    ),
    merged.length > 0 && h("h3", { class: "report-sub" }, t("import.merged_into")),
    merged.length > 0 && h("table", { class: "table", testid: "import-merged-rows" },
      h("thead", null, h("tr", null, h("th", { class: "num col-line" }, t("import.line")), h("th", null, t("import.client")))),
      h("tbody", null, merged.map((row) => h("tr", null,
        h("td", { class: "num mono" }, row.line),
        h("td", null, h("a", { href: `#/clients/${row.client_id}` }, row.name || `#${row.client_id}`)),
      ))),
    ),
    conflicts.length > 0 && h("h3", { class: "report-sub" }, t("import.conflicts")),
    conflicts.length > 0 && h("table", { class: "table", testid: "import-conflicts" },
      h("thead", null, h("tr", null,
        h("th", { class: "num col-line" }, t("import.line")), h("th", null, t("import.client")),
        h("th", null, t("import.shared")), h("th", null, t("import.other")),
      )),
      h("tbody", null, conflicts.map((row) => h("tr", { testid: "import-conflict-row" },
        h("td", { class: "num mono" }, row.line),
        h("td", null, row.name),
        h("td", { class: "mono" }, row.shared),
        h("td", null, row.client_id != null
          ? h("a", { href: `#/clients/${row.client_id}` }, row.other_name || `#${row.client_id}`)
          : `${row.other_name} (${t("import.other_line", { line: row.other_line })})`),
      ))),
    ),
    rejected.length > 0 && h("h3", { class: "report-sub" }, t("import.rejected_rows")),
    rejected.length > 0 && h("table", { class: "table", testid: "import-rejected" },
      h("thead", null, h("tr", null,
        h("th", { class: "num col-line" }, t("import.line")), h("th", { class: "col-reason" }, t("import.reason")), h("th", null, t("import.value")),
      )),
      h("tbody", null, rejected.map((row) => {
        const text = importReasonText(row); // the server's English only as a tooltip
        return h("tr", { testid: "import-rejected-row", dataset: { reason: row.reason } },
          h("td", { class: "num mono" }, row.line),
          h("td", { title: row.message, testid: "import-reason" }, text.reason),
          h("td", { title: row.message }, text.value),
        );
      })),
    ),
  );
}
