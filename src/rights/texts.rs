//! The words of the rights guide, in Spanish and English. Written plainly, for
//! someone who finished primary school ("usted", short sentences, every legal word
//! explained). Every fact comes from shared/domain/DOMAIN.md and each topic names
//! its sources; where DOMAIN.md only guesses ([G]), the guide says nothing.
//! Authorities are never named here as "where the complaint goes": that part is
//! generated from the routing rules (see `super::guide`).

use crate::domain::Violation;

/// One topic's fixed words; `[Spanish, English]` pairs.
pub(super) struct TopicText {
    /// Anchor on the page (`/derechos#sindicato`); stable.
    pub id: &'static str,
    /// What to write on WhatsApp after DERECHOS / RIGHTS to read this topic.
    pub word: [&'static str; 2],
    pub title: [&'static str; 2],
    /// The first paragraph is the topic's summary (the short WhatsApp guide).
    pub paragraphs: [&'static [&'static str]; 2],
    pub source: [&'static str; 2],
    /// The complaints this topic is about: what it is routed as.
    pub violations: &'static [Violation],
}

pub(super) const TOPICS: &[TopicText] = &[
    TopicText {
        id: "sindicato",
        word: ["SINDICATO", "UNION"],
        title: [
            "Libertad sindical: formar un sindicato o entrar a uno",
            "Freedom of association: forming or joining a union",
        ],
        paragraphs: [
            &[
                "Usted tiene derecho a formar un sindicato y a entrar al sindicato que usted elija.",
                "La empresa no puede obligarle a entrar a un sindicato ni a salirse de él.",
                "La empresa no puede controlar al sindicato ni meterse en sus asuntos.",
                "La empresa no puede negarse a negociar con el sindicato reconocido de los trabajadores.",
            ],
            &[
                "You have the right to form a union and to join the union of your choice.",
                "The company cannot force you to join a union or to leave one.",
                "The company cannot control the union or meddle in its affairs.",
                "The company cannot refuse to bargain with the workers' recognized union.",
            ],
        ],
        source: [
            "T-MEC, Anexo 23-A, párrafo 2(a); Ley Federal del Trabajo (LFT), artículo 133, fracciones IV y XVI.",
            "USMCA Annex 23-A, paragraph 2(a); Mexico's Federal Labor Law (LFT), article 133, sections IV and XVI.",
        ],
        violations: &[
            Violation::UnionInterference,
            Violation::UnionCoercion,
            Violation::UnionAccessDenied,
            Violation::RefusalToBargain,
        ],
    },
    TopicText {
        id: "votaciones",
        word: ["VOTO", "VOTE"],
        title: [
            "Votaciones libres y secretas: el sindicato y el contrato colectivo",
            "Free and secret votes: the union and the collective agreement",
        ],
        paragraphs: [
            &[
                "Un contrato colectivo solo vale si la mayoría de los trabajadores lo apoya con voto personal, libre y secreto.",
                "El contrato colectivo es el acuerdo por escrito entre el sindicato y la empresa sobre las condiciones de trabajo.",
                "Voto personal, libre y secreto quiere decir: usted mismo vota, nadie le obliga y nadie sabe cómo votó.",
                "La empresa no puede presionarle para votar por una persona o por una planilla (un grupo de candidatos), por ejemplo cuando se elige a los líderes del sindicato.",
                "Para pedir un contrato colectivo, el sindicato primero necesita una «constancia de representatividad» del Centro Federal de Conciliación y Registro Laboral (CFCRL). Es un documento que muestra que lo apoyan al menos 30 de cada 100 trabajadores.",
                "Los contratos colectivos que ya existían tenían que ser aprobados por los trabajadores con voto libre y secreto a más tardar el 1 de mayo de 2023 (o el 31 de julio de 2023, si la votación ya había empezado). A esto se le llamó «legitimación». Los contratos no aprobados terminaron, pero los trabajadores conservan el salario y las prestaciones que ya tenían.",
                "Si hubo una votación sin voto secreto, si no le dejaron ver el contrato, o si hay un contrato que ustedes nunca aprobaron, puede presentar una queja.",
            ],
            &[
                "A collective agreement is only valid if most workers support it by a personal, free and secret vote.",
                "The collective agreement is the written agreement between the union and the company about working conditions.",
                "A personal, free and secret vote means: you vote yourself, nobody forces you, and nobody knows how you voted.",
                "The company cannot pressure you to vote for a person or a slate (a group of candidates), for example when union leaders are elected.",
                "To ask for a collective agreement, the union first needs a \"certificate of representativeness\" from the Federal Conciliation and Labor Registration Center (CFCRL). It shows that at least 30 out of every 100 workers support the union.",
                "Collective agreements that already existed had to be approved by the workers by free and secret vote by 1 May 2023 (or 31 July 2023 if the vote had already started). This was called \"legitimation\". Agreements that were not approved ended, but workers keep the wages and benefits they already had.",
                "If there was a vote without a secret ballot, if you were not allowed to see the agreement, or if there is an agreement you never approved, you can file a complaint.",
            ],
        ],
        source: [
            "LFT artículos 133 fracción IV, 386 Bis, 387, 390 Bis y 390 Ter; sobre la legitimación: decreto de reforma a la LFT del 1 de mayo de 2019 (artículos transitorios) y T-MEC, Anexo 23-A, párrafo 2(f).",
            "LFT articles 133 section IV, 386 Bis, 387, 390 Bis and 390 Ter; on legitimation: the decree reforming the LFT of 1 May 2019 (transitory articles) and USMCA Annex 23-A, paragraph 2(f).",
        ],
        violations: &[Violation::VoteIrregularity, Violation::ProtectionContract],
    },
    TopicText {
        id: "despido",
        word: ["DESPIDO", "FIRED"],
        title: [
            "Despido o castigo por el sindicato",
            "Fired or punished for union activity",
        ],
        paragraphs: [
            &[
                "Está prohibido despedir, castigar o tratar peor a un trabajador por participar en un sindicato.",
                "También está prohibido amenazar o presionar a los trabajadores por apoyar a un sindicato.",
                "Un despido o un castigo por el sindicato puede ser un caso del Mecanismo Laboral de Respuesta Rápida del T-MEC (vea el último tema).",
            ],
            &[
                "It is forbidden to fire, punish or treat a worker worse for taking part in a union.",
                "It is also forbidden to threaten or pressure workers for supporting a union.",
                "Being fired or punished for union activity can be a case for the USMCA Rapid Response Labor Mechanism (see the last topic).",
            ],
        ],
        source: [
            "T-MEC, Anexo 23-A, párrafo 2(a); LFT artículo 133, fracciones IV y XVI; T-MEC, Anexo 31-A.",
            "USMCA Annex 23-A, paragraph 2(a); LFT article 133, sections IV and XVI; USMCA Annex 31-A.",
        ],
        violations: &[Violation::UnionRetaliation],
    },
    TopicText {
        id: "salario",
        word: ["SALARIO", "WAGES"],
        title: ["Salario no pagado", "Unpaid wages"],
        paragraphs: [
            &[
                "Si la empresa no le paga su sueldo, sus horas extra o sus bonos, puede presentar una queja.",
                "Los trabajadores pueden recibir asesoría y un abogado sin costo en una procuraduría de la defensa del trabajo (una oficina de gobierno que defiende a los trabajadores): la federal, PROFEDET, o la de su estado.",
            ],
            &[
                "If the company does not pay your wages, your overtime or your bonuses, you can file a complaint.",
                "Workers can get free advice and a lawyer from a labor defense office (procuraduría, a government office that defends workers): the federal one, PROFEDET, or your state's.",
            ],
        ],
        source: [
            "LFT artículo 530 (PROFEDET); las procuradurías de la defensa del trabajo de los estados.",
            "LFT article 530 (PROFEDET); the states' labor defense offices.",
        ],
        violations: &[Violation::UnpaidWages],
    },
    TopicText {
        id: "seguridad",
        word: ["SEGURIDAD", "SAFETY"],
        title: [
            "Seguridad y salud en el trabajo",
            "Safety and health at work",
        ],
        paragraphs: [
            &[
                "Si su trabajo es peligroso, si hubo accidentes o si no le dan equipo de protección, puede presentar una queja.",
                "La Secretaría del Trabajo y Previsión Social (STPS) tiene inspectores federales del trabajo. Ellos revisan los centros de trabajo.",
            ],
            &[
                "If your work is dangerous, if there were accidents, or if you are not given protective equipment, you can file a complaint.",
                "Mexico's Labor Ministry (STPS) has federal labor inspectors. They check workplaces.",
            ],
        ],
        source: [
            "STPS, Dirección General de Inspección Federal del Trabajo (Catálogo Nacional de Regulaciones, ficha I-STPS-053).",
            "STPS, Federal Labor Inspection Directorate (Mexico's National Catalogue of Regulations, entry I-STPS-053).",
        ],
        violations: &[Violation::SafetyHealth],
    },
    TopicText {
        id: "tmec",
        word: ["TMEC", "USMCA"],
        title: [
            "El Mecanismo Laboral de Respuesta Rápida del T-MEC",
            "The USMCA Rapid Response Labor Mechanism",
        ],
        paragraphs: [
            &[
                "Con este mecanismo, Estados Unidos puede pedir a México que revise un centro de trabajo donde no se respeta la libertad sindical o la negociación colectiva (que el sindicato negocie con la empresa por los trabajadores).",
                "El T-MEC es el tratado de comercio entre México, Estados Unidos y Canadá. Está vigente desde el 1 de julio de 2020.",
                "Aplica a centros de trabajo de manufactura, servicios o minería que venden a Estados Unidos o que compiten con productos o servicios de allá. Lo que pasó tiene que ser después del 1 de julio de 2020.",
                "La petición va a un comité del gobierno de Estados Unidos. Se puede presentar sin dar el nombre de quien la presenta.",
                "México tiene 10 días para aceptar hacer la revisión y 45 días para terminarla.",
                "Si el problema no se corrige, Estados Unidos puede quitar a los productos de ese centro de trabajo los beneficios del T-MEC en impuestos de importación, o ponerles otras sanciones.",
                "Según el gobierno de Estados Unidos (mayo de 2024), el mecanismo ya benefició directamente a casi 30,000 trabajadores y logró más de 5 millones de dólares en salarios atrasados.",
                "Buzón revisa si su queja podría ser un caso de este mecanismo.",
            ],
            &[
                "With this mechanism, the United States can ask Mexico to review a workplace where workers' freedom of association or collective bargaining (the union bargaining with the company for the workers) is not respected.",
                "The USMCA (T-MEC in Spanish) is the trade agreement between Mexico, the United States and Canada. It has been in force since 1 July 2020.",
                "It applies to workplaces in manufacturing, services or mining that sell to the United States or compete with U.S. goods or services. What happened must be after 1 July 2020.",
                "The petition goes to a committee of the U.S. government. It can be filed without giving the name of the person who files it.",
                "Mexico has 10 days to agree to review and 45 days to finish the review.",
                "If the problem is not fixed, the United States can take away the USMCA import-tax benefits from the workplace's goods, or impose other penalties.",
                "According to the U.S. government (May 2024), the mechanism has directly benefited almost 30,000 workers and obtained over 5 million dollars in back pay.",
                "Buzón checks whether your complaint could be a case for this mechanism.",
            ],
        ],
        source: [
            "T-MEC, Anexos 31-A y 23-A; 19 U.S.C. §4646; lineamientos del Comité Laboral Interinstitucional de EE. UU. (Federal Register, 88 FR 40914, 22 de junio de 2023); comunicados de USTR, incluido el del 13 de mayo de 2024.",
            "USMCA Annexes 31-A and 23-A; 19 U.S.C. §4646; U.S. Interagency Labor Committee guidelines (Federal Register, 88 FR 40914, 22 June 2023); USTR press releases, including that of 13 May 2024.",
        ],
        violations: &[
            Violation::UnionInterference,
            Violation::UnionRetaliation,
            Violation::UnionCoercion,
        ],
    },
];

/// The words around the topics, on the page and on WhatsApp.
pub struct Labels {
    pub title: &'static str,
    pub intro: &'static [&'static str],
    /// The source of the intro (federal and local branches).
    pub intro_source: &'static str,
    pub federal_branches: &'static str,
    pub local_branches: &'static str,
    pub depends_branches: &'static str,
    pub contents: &'static str,
    pub goes_to: &'static str,
    pub source: &'static str,
    pub file_complaint: &'static str,
    /// Before the rules version at the bottom of the page.
    pub rules_version: &'static str,
    /// Under a referral for a possible petition under the mechanism.
    pub petition_note: &'static str,
    /// The link after it, to the mechanism's topic.
    pub petition_link: &'static str,
    /// Shown when a referral is one of several candidates a person chooses from.
    pub candidate_note: &'static str,
    /// `{}` is an example branch.
    pub federal_heading: &'static str,
    pub local_heading: &'static str,
    pub other_heading: &'static str,
    /// WhatsApp's short guide: the same headings without the example.
    pub federal_short: &'static str,
    pub local_short: &'static str,
    pub other_short: &'static str,
    /// WhatsApp: the authorities both kinds of workplace go to.
    pub both_heading: &'static str,
    /// WhatsApp: the short guide's ending. `{words}` lists the topic words, `{first}`
    /// is the first of them.
    pub outro: &'static str,
    /// WhatsApp: what to write before a topic's word.
    pub keyword: &'static str,
}

pub static ES: Labels = Labels {
    title: "Sus derechos en el trabajo",
    intro: &[
        "Aquí le explicamos con palabras sencillas algunos de sus derechos en el trabajo en México, y adónde va su queja. Esto no es asesoría legal.",
        "Adónde va su queja depende de la rama de la empresa (lo que hace o produce). La ley nombra las ramas federales; las demás son locales, del estado.",
        "Si no sabe de qué rama es su empresa, presente su queja de todos modos. Puede hacerlo sin dar su nombre.",
    ],
    intro_source: "Constitución (CPEUM), artículo 123, apartado A, fracción XXXI; LFT artículo 527.",
    federal_branches: "Ramas federales",
    local_branches: "Ramas locales (del estado)",
    depends_branches: "Depende del caso (una persona lo revisa)",
    contents: "Temas",
    goes_to: "Adónde va su queja",
    source: "Fuente",
    file_complaint: "Presentar una queja",
    rules_version: "Las listas de «Adónde va su queja» salen de las reglas de envío de Buzón, versión",
    petition_note: "solo si el caso cumple las condiciones del mecanismo",
    petition_link: "vea qué es",
    candidate_note: "puede ser esta oficina u otra; una persona lo va a decidir",
    federal_heading: "Si la empresa es de una rama federal (por ejemplo: {})",
    local_heading: "Si la empresa es de una rama local (por ejemplo: {})",
    other_heading: "Por ejemplo, en esta rama: {}",
    federal_short: "Empresa de rama federal",
    local_short: "Empresa de rama local",
    other_short: "Otras ramas",
    both_heading: "En los dos tipos de empresa",
    outro: "Para leer un tema completo, escriba DERECHOS y la palabra del tema, por ejemplo: DERECHOS {first}\nPalabras: {words}\n\nPara presentar una queja, escríbanos cualquier mensaje. Puede hacerlo sin dar su nombre.",
    keyword: "DERECHOS",
};

pub static EN: Labels = Labels {
    title: "Your rights at work",
    intro: &[
        "Here we explain in simple words some of your rights at work in Mexico, and where your complaint goes. This is not legal advice.",
        "Where your complaint goes depends on the company's branch of industry (what it does or makes). The law names the federal branches; all others are local, run by the state.",
        "If you don't know your company's branch, file your complaint anyway. You can do it without giving your name.",
    ],
    intro_source: "Mexican Constitution (CPEUM), article 123, section A, clause XXXI; LFT article 527.",
    federal_branches: "Federal branches",
    local_branches: "Local (state) branches",
    depends_branches: "It depends on the case (a person reviews it)",
    contents: "Topics",
    goes_to: "Where your complaint goes",
    source: "Source",
    file_complaint: "File a complaint",
    rules_version: "The \"Where your complaint goes\" lists come from Buzón's routing rules, version",
    petition_note: "only if the case meets the mechanism's conditions",
    petition_link: "see what it is",
    candidate_note: "this office or another one; a person will decide",
    federal_heading: "If the company is in a federal branch (for example: {})",
    local_heading: "If the company is in a local branch (for example: {})",
    other_heading: "For example, in this branch: {}",
    federal_short: "Company in a federal branch",
    local_short: "Company in a local branch",
    other_short: "Other branches",
    both_heading: "In both kinds of company",
    outro: "To read one topic in full, write RIGHTS and the topic's word, for example: RIGHTS {first}\nWords: {words}\n\nTo file a complaint, send us any message. You can do it without giving your name.",
    keyword: "RIGHTS",
};

/// A state body described for any state: (code prefix, Spanish, English).
pub(super) const STATE_BODIES: &[(&str, &str, &str)] = &[
    (
        "state_ccl",
        "Centro de Conciliación Laboral de su estado",
        "Your state's Labor Conciliation Center",
    ),
    (
        "state_labor",
        "Secretaría del Trabajo de su estado (inspección del estado)",
        "Your state's labor ministry (state inspection)",
    ),
    (
        "state_prodet",
        "Procuraduría de la Defensa del Trabajo de su estado",
        "Your state's Labor Defense Office",
    ),
];
