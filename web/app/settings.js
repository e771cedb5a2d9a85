// The settings panel: the policy's settings as a form and as JSON, kept in sync, validated by the
// policy's own code (in the worker) so the messages are the ones a cluster admin would see.

const LIST_FIELDS = [
  {
    field: 'exempt_namespaces',
    label: 'Exempt namespaces',
    help: 'One namespace per line; * and ? match. Objects there are not checked.',
    placeholder: 'kube-system\nkubewarden',
  },
  {
    field: 'allowed_token_service_accounts',
    label: 'ServiceAccounts allowed a token',
    help: 'namespace/name per line (patterns allowed): controllers that really call the API.',
    placeholder: 'kyverno/*\nmonitoring/prometheus',
  },
  {
    field: 'external_service_accounts',
    label: 'ServiceAccounts created elsewhere',
    help: 'namespace/name per line: not reported as undefined.',
    placeholder: 'production/ci-deployer',
  },
  {
    field: 'denied_audiences',
    label: 'Denied token audiences',
    help: 'One audience per line (patterns allowed): a projected token must not carry these.',
    placeholder: '',
  },
];

const sameValue = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'className') node.className = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of [].concat(children)) if (child) node.append(child);
  return node;
}

export class SettingsPanel {
  /**
   * @param {HTMLElement} root
   * @param {{rules: object[], defaults: object, validate: (json: string) => Promise<object>, onChange: (settings: object) => void}} options
   */
  constructor(root, { rules, defaults, validate, onChange }) {
    this.root = root;
    this.rules = rules;
    this.defaults = defaults;
    this.validate = validate;
    this.onChange = onChange;
    this.settings = {};
    this.validation = 0;
    this.render();
  }

  /** The settings the user set (fields equal to the defaults are left out). */
  get value() {
    return this.settings;
  }

  get json() {
    return JSON.stringify(this.settings);
  }

  effective(field) {
    return field in this.settings ? this.settings[field] : this.defaults[field];
  }

  render() {
    this.root.replaceChildren();
    this.message = element('p', { className: 'settings-message', role: 'status', 'aria-live': 'polite', id: 'settings-message' });
    const form = element('form', { className: 'settings-form', 'aria-describedby': 'settings-message' });
    form.addEventListener('submit', (event) => event.preventDefault());

    // Levels per rule
    const levels = element('fieldset', { className: 'levels' }, [element('legend', { text: 'Rule levels' })]);
    this.levelSelects = new Map();
    for (const rule of this.rules) {
      const id = `level-${rule.id}`;
      const select = element('select', { id, 'data-rule': rule.id });
      for (const [value, label] of [
        ['', `default (${rule.defaultLevel})`],
        ['deny', 'deny'],
        ['warn', 'warn'],
        ['off', 'off'],
      ]) {
        select.append(element('option', { value, text: label }));
      }
      select.addEventListener('change', () => this.setRuleLevel(rule.id, select.value));
      this.levelSelects.set(rule.id, select);
      levels.append(
        element('div', { className: 'level-row' }, [
          element('label', { for: id }, [element('span', { className: 'rule-id', text: rule.id }), element('span', { className: 'rule-title', text: rule.title })]),
          select,
        ]),
      );
    }

    // Token lifetime and opt-in
    const tokens = element('fieldset', {}, [element('legend', { text: 'Tokens' })]);
    this.expiry = element('input', { id: 'set-max-expiry', type: 'number', min: '600', step: '60', inputmode: 'numeric', 'data-field': 'max_token_expiration_seconds' });
    this.expiry.addEventListener('input', () => {
      const raw = this.expiry.value.trim();
      // Anything that is not an integer goes to the policy as text, so its message names the problem.
      this.setField('max_token_expiration_seconds', /^-?\d+$/.test(raw) ? Number(raw) : raw);
    });
    tokens.append(
      element('div', { className: 'field' }, [
        element('label', { for: 'set-max-expiry', text: 'Longest projected token lifetime (seconds)' }),
        this.expiry,
        element('p', { className: 'help', text: 'expirationSeconds above this is reported. Kubernetes accepts 600 at least.' }),
      ]),
    );
    this.optIn = element('input', { id: 'set-opt-in', type: 'checkbox', 'data-field': 'require_allowlisted_opt_in' });
    this.optIn.addEventListener('change', () => this.setField('require_allowlisted_opt_in', this.optIn.checked));
    tokens.append(
      element('div', { className: 'field checkbox' }, [
        this.optIn,
        element('label', { for: 'set-opt-in', text: 'An explicit automountServiceAccountToken: true counts only for allowed ServiceAccounts' }),
      ]),
    );

    // Lists
    const lists = element('fieldset', {}, [element('legend', { text: 'Exemptions and lists' })]);
    this.lists = new Map();
    for (const { field, label, help, placeholder } of LIST_FIELDS) {
      const id = `set-${field}`;
      const textarea = element('textarea', { id, rows: '3', spellcheck: 'false', placeholder, 'data-field': field, 'aria-describedby': `${id}-help` });
      textarea.addEventListener('input', () => {
        const entries = textarea.value.split('\n').map((line) => line.trim()).filter(Boolean);
        this.setField(field, entries);
      });
      this.lists.set(field, textarea);
      lists.append(element('div', { className: 'field' }, [element('label', { for: id, text: label }), textarea, element('p', { className: 'help', id: `${id}-help`, text: help })]));
    }

    // Admission-only settings, so the JSON below is a complete policy configuration.
    const admission = element('fieldset', {}, [element('legend', { text: 'At admission only' })]);
    admission.append(element('p', { className: 'help', text: 'Used by the Kubewarden policy in a cluster; they do not change what the playground reports.' }));
    this.mutate = element('input', { id: 'set-mutate', type: 'checkbox', 'data-field': 'mutate' });
    this.mutate.addEventListener('change', () => this.setField('mutate', this.mutate.checked));
    this.contextAware = element('input', { id: 'set-context-aware', type: 'checkbox', 'data-field': 'context_aware' });
    this.contextAware.addEventListener('change', () => this.setField('context_aware', this.contextAware.checked));
    this.lookupSecrets = element('input', { id: 'set-lookup-secrets', type: 'checkbox', 'data-field': 'lookup_secrets' });
    this.lookupSecrets.addEventListener('change', () => this.setField('lookup_secrets', this.lookupSecrets.checked));
    this.onLookupFailure = element('select', { id: 'set-lookup-failure', 'data-field': 'on_lookup_failure' });
    for (const value of ['deny', 'warn', 'allow']) this.onLookupFailure.append(element('option', { value, text: value }));
    this.onLookupFailure.addEventListener('change', () => this.setField('on_lookup_failure', this.onLookupFailure.value));
    admission.append(
      element('div', { className: 'field checkbox' }, [this.mutate, element('label', { for: 'set-mutate', text: 'mutate: fix what can be fixed instead of rejecting' })]),
      element('div', { className: 'field checkbox' }, [this.contextAware, element('label', { for: 'set-context-aware', text: 'context_aware: look ServiceAccounts and roles up in the cluster' })]),
      element('div', { className: 'field checkbox' }, [this.lookupSecrets, element('label', { for: 'set-lookup-secrets', text: 'lookup_secrets: with context_aware, also read the type of the Secrets workloads use' })]),
      element('div', { className: 'field' }, [element('label', { for: 'set-lookup-failure', text: 'on_lookup_failure' }), this.onLookupFailure]),
    );

    // JSON
    this.jsonArea = element('textarea', { id: 'settings-json', rows: '6', spellcheck: 'false', 'data-field': 'json', 'aria-describedby': 'settings-json-help' });
    let jsonTimer = 0;
    this.jsonArea.addEventListener('input', () => {
      clearTimeout(jsonTimer);
      jsonTimer = setTimeout(() => this.applyJson(this.jsonArea.value), 250);
    });
    const reset = element('button', { type: 'button', className: 'secondary', text: 'Reset to defaults' });
    reset.addEventListener('click', () => this.set({}));
    const copy = element('button', { type: 'button', className: 'secondary', text: 'Copy settings JSON' });
    copy.addEventListener('click', () => this.root.dispatchEvent(new CustomEvent('copy-settings', { bubbles: true, detail: JSON.stringify(this.settings, null, 2) })));
    const json = element('fieldset', {}, [
      element('legend', { text: 'Policy settings (JSON)' }),
      element('label', { for: 'settings-json', className: 'visually-hidden', text: 'Settings as JSON' }),
      this.jsonArea,
      element('p', { className: 'help', id: 'settings-json-help', text: 'The same settings a ClusterAdmissionPolicy and the CLI\u2019s --settings take. Only values that differ from the defaults are listed.' }),
      element('div', { className: 'button-row' }, [reset, copy]),
    ]);

    form.append(levels, tokens, lists, admission, json);
    this.root.append(this.message, form);
    this.sync({ json: true });
    this.showValid();
  }

  /** Put the form controls in line with `this.settings`. */
  sync({ json }) {
    const rules = this.settings.rules ?? {};
    for (const [id, select] of this.levelSelects) {
      const rule = this.rules.find((r) => r.id === id);
      select.value = rules[id] ?? rules[rule.slug] ?? '';
    }
    const expiry = this.effective('max_token_expiration_seconds');
    if (String(expiry) !== this.expiry.value) this.expiry.value = String(expiry);
    this.optIn.checked = Boolean(this.effective('require_allowlisted_opt_in'));
    for (const [field, textarea] of this.lists) {
      const value = this.effective(field);
      const current = textarea.value.split('\n').map((l) => l.trim()).filter(Boolean);
      if (Array.isArray(value) && !sameValue(current, value)) textarea.value = value.join('\n');
    }
    this.mutate.checked = Boolean(this.effective('mutate'));
    this.contextAware.checked = Boolean(this.effective('context_aware'));
    this.lookupSecrets.checked = Boolean(this.effective('lookup_secrets'));
    this.onLookupFailure.value = this.effective('on_lookup_failure') ?? 'deny';
    if (json) this.jsonArea.value = JSON.stringify(this.settings, null, 2);
  }

  setRuleLevel(id, level) {
    const rules = { ...(this.settings.rules ?? {}) };
    const rule = this.rules.find((r) => r.id === id);
    delete rules[rule.slug];
    if (level) rules[id] = level;
    else delete rules[id];
    this.update({ ...this.settings, rules });
  }

  setField(field, value) {
    this.update({ ...this.settings, [field]: value }, { form: false });
  }

  /** Replace the settings (share link, reset). */
  set(settings) {
    this.update(settings && typeof settings === 'object' ? settings : {});
  }

  applyJson(text) {
    let parsed;
    try {
      parsed = text.trim() ? JSON.parse(text) : {};
    } catch (error) {
      this.showInvalid(`not JSON: ${error.message}`, 'json');
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      this.showInvalid('the settings must be a JSON object', 'json');
      return;
    }
    this.update(parsed, { json: false });
  }

  /** Drop values equal to the defaults, validate with the policy, tell the page. */
  async update(settings, { form = true, json = true } = {}) {
    const clean = {};
    for (const [field, value] of Object.entries(settings)) {
      if (field === 'rules') {
        if (value && typeof value === 'object' && Object.keys(value).length) clean.rules = value;
        else if (value !== undefined && (typeof value !== 'object' || value === null)) clean.rules = value;
        continue;
      }
      if (!(field in this.defaults) || !sameValue(value, this.defaults[field])) clean[field] = value;
    }
    this.settings = clean;
    if (form) this.sync({ json });
    else if (json) this.jsonArea.value = JSON.stringify(clean, null, 2);
    const ticket = ++this.validation;
    const check = await this.validate(JSON.stringify(clean));
    if (ticket !== this.validation) return;
    if (check.valid) this.showValid();
    else this.showInvalid(check.message, fieldOf(check.message));
    this.onChange(this.settings, check);
  }

  showValid() {
    const changed = Object.keys(this.settings).length;
    this.message.className = 'settings-message ok';
    this.message.textContent = changed ? `Valid settings: ${changed} changed from the defaults.` : 'Default settings.';
    for (const node of this.root.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  }

  showInvalid(message, field) {
    this.message.className = 'settings-message error';
    this.message.textContent = message;
    for (const node of this.root.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
    const target = field === 'rules' ? this.root.querySelector('.levels') : this.root.querySelector(`[data-field="${field}"]`);
    (target ?? this.jsonArea).setAttribute('aria-invalid', 'true');
  }
}

/** "invalid settings: max_token_expiration_seconds: ..." → "max_token_expiration_seconds". */
function fieldOf(message) {
  const match = /^invalid settings: ([a-z_]+):/.exec(message ?? '');
  return match ? match[1] : 'json';
}
