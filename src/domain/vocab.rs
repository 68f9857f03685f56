//! The shared vocabulary (shared/domain/TAXONOMY.md): sectors, violations, states and
//! the trade nexus. Codes are public API and never renamed; every code carries a
//! plain-language label in Spanish and English, and workers only ever see the labels.

use super::Language;

/// Declares a closed set of codes with their Spanish and English labels, `parse`,
/// `code`, `label` and `ALL` (in display order).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal, $es:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn parse(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            pub fn label(self, lang: Language) -> &'static str {
                match (self, lang) {
                    $((Self::$variant, Language::Es) => $es,
                      (Self::$variant, Language::En) => $en,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

vocabulary! {
    /// Branch of industry of the workplace (TAXONOMY.md "Sectors").
    Sector {
        Automotive = "automotive", "Armadora de autos o camiones", "Car or truck assembly plant";
        AutoParts = "auto_parts", "Autopartes (arneses, asientos, piezas para autos)", "Auto parts (wire harnesses, seats, car parts)";
        Aerospace = "aerospace", "Partes de aviones", "Airplane parts";
        Electronics = "electronics", "Electrónica y aparatos eléctricos", "Electronics and electrical appliances";
        ElectricPower = "electric_power", "Luz eléctrica (plantas, líneas)", "Electric power (plants, power lines)";
        SteelMetals = "steel_metals", "Acero, fundición o aluminio", "Steel, smelting or aluminum";
        MetalProducts = "metal_products", "Piezas de metal (no para autos)", "Metal parts (not for cars)";
        Mining = "mining", "Mina", "Mine";
        RubberTires = "rubber_tires", "Hule o llantas", "Rubber or tires";
        ChemicalPharma = "chemical_pharma", "Químicos o medicinas", "Chemicals or medicines";
        Plastics = "plastics", "Plásticos (no para autos)", "Plastic products (not for cars)";
        Glass = "glass", "Vidrio", "Glass";
        CementLime = "cement_lime", "Cemento o cal", "Cement or lime";
        Textile = "textile", "Hilos y telas", "Yarn and fabric";
        Garment = "garment", "Costura de ropa", "Sewing clothes";
        FoodPackaged = "food_packaged", "Comida o bebidas en paquete, lata o botella", "Food or drinks in packages, cans or bottles";
        Agriculture = "agriculture", "Campo, invernadero o empaque de fruta y verdura", "Fields, greenhouses or fresh produce packing";
        CallCenter = "call_center", "Centro de llamadas", "Call center";
        Banking = "banking", "Banco", "Bank";
        Hydrocarbons = "hydrocarbons", "Petróleo o gas", "Oil or gas";
        OtherFederal = "other_federal", "Azúcar, papel, madera, tabaco, aceites, trenes o cine", "Sugar, paper, wood, tobacco, oils, railways or film";
        OtherManufacturing = "other_manufacturing", "Otra fábrica", "Another factory";
        OtherServices = "other_services", "Tienda, restaurante, transporte, limpieza, vigilancia u otro servicio", "Shop, restaurant, transport, cleaning, security or another service";
        Unknown = "unknown", "No sé", "I don't know";
    }
}

vocabulary! {
    /// What happened (TAXONOMY.md "Violations"); a case has one or more.
    Violation {
        UnionInterference = "union_interference", "La empresa manda o se mete en el sindicato", "The company controls or meddles in the union";
        UnionRetaliation = "union_retaliation", "Me castigaron o despidieron por el sindicato", "I was punished or fired for union activity";
        UnionCoercion = "union_coercion", "Me presionan para entrar, salir o votar por un sindicato", "I am pressured to join, leave or vote for a union";
        UnionAccessDenied = "union_access_denied", "No dejan entrar al sindicato", "The union is kept out of the workplace";
        VoteIrregularity = "vote_irregularity", "Votación sin voto secreto o sin ver el contrato", "A vote without secret ballot or without seeing the contract";
        ProtectionContract = "protection_contract", "Hay un contrato colectivo que nunca vimos ni aprobamos", "There is a union contract we never saw or approved";
        RefusalToBargain = "refusal_to_bargain", "La empresa no quiere negociar con nuestro sindicato", "The company refuses to bargain with our union";
        ContratoLeyNotApplied = "contrato_ley_not_applied", "No aplican el contrato-ley de la rama", "The sector-wide contract (contrato-ley) is not applied";
        UnjustDismissal = "unjust_dismissal", "Me despidieron sin razón o sin pagarme", "I was fired without reason or without severance";
        UnpaidWages = "unpaid_wages", "No me pagan el sueldo, las horas extra o los bonos", "Wages, overtime or bonuses are not paid";
        MinimumWage = "minimum_wage", "Me pagan menos del salario mínimo", "I am paid less than the minimum wage";
        ExcessiveHours = "excessive_hours", "Demasiadas horas o sin día de descanso", "Too many hours or no rest day";
        ProfitSharing = "profit_sharing", "No pagan el reparto de utilidades (PTU)", "Profit sharing (PTU) is not paid";
        SocialSecurity = "social_security", "No tengo Seguro Social (IMSS) o Infonavit", "I am not registered with IMSS or Infonavit";
        SafetyHealth = "safety_health", "Trabajo peligroso, accidentes o sin equipo de protección", "Unsafe work, injuries or no protective equipment";
        Training = "training", "No dan la capacitación obligatoria", "Required training is not given";
        HarassmentDiscrimination = "harassment_discrimination", "Acoso, acoso sexual, discriminación o prueba de embarazo", "Harassment, sexual harassment, discrimination or pregnancy tests";
        ChildLabor = "child_labor", "Trabajan menores de edad", "Children under the legal age work there";
        ForcedLabor = "forced_labor", "Me quitaron papeles, tengo deudas con la empresa o no me dejan irme", "My papers were taken, I owe the company, or I am not allowed to leave";
        Other = "other", "Otra cosa (cuéntela abajo)", "Something else (tell us below)";
    }
}

vocabulary! {
    /// Whether the facility sells to (or competes with) the United States.
    TradeNexus {
        Yes = "yes", "Sí", "Yes";
        No = "no", "No", "No";
        Unknown = "unknown", "No sé", "I don't know";
    }
}

vocabulary! {
    /// The 32 federal entities by ISO 3166-2:MX code (shared/domain/states.csv).
    StateCode {
        Agu = "MX-AGU", "Aguascalientes", "Aguascalientes";
        Bcn = "MX-BCN", "Baja California", "Baja California";
        Bcs = "MX-BCS", "Baja California Sur", "Baja California Sur";
        Cam = "MX-CAM", "Campeche", "Campeche";
        Chp = "MX-CHP", "Chiapas", "Chiapas";
        Chh = "MX-CHH", "Chihuahua", "Chihuahua";
        Cmx = "MX-CMX", "Ciudad de México", "Mexico City";
        Coa = "MX-COA", "Coahuila", "Coahuila";
        Col = "MX-COL", "Colima", "Colima";
        Dur = "MX-DUR", "Durango", "Durango";
        Gua = "MX-GUA", "Guanajuato", "Guanajuato";
        Gro = "MX-GRO", "Guerrero", "Guerrero";
        Hid = "MX-HID", "Hidalgo", "Hidalgo";
        Jal = "MX-JAL", "Jalisco", "Jalisco";
        Mex = "MX-MEX", "Estado de México", "State of Mexico";
        Mic = "MX-MIC", "Michoacán", "Michoacán";
        Mor = "MX-MOR", "Morelos", "Morelos";
        Nay = "MX-NAY", "Nayarit", "Nayarit";
        Nle = "MX-NLE", "Nuevo León", "Nuevo León";
        Oax = "MX-OAX", "Oaxaca", "Oaxaca";
        Pue = "MX-PUE", "Puebla", "Puebla";
        Que = "MX-QUE", "Querétaro", "Querétaro";
        Roo = "MX-ROO", "Quintana Roo", "Quintana Roo";
        Slp = "MX-SLP", "San Luis Potosí", "San Luis Potosí";
        Sin = "MX-SIN", "Sinaloa", "Sinaloa";
        Son = "MX-SON", "Sonora", "Sonora";
        Tab = "MX-TAB", "Tabasco", "Tabasco";
        Tam = "MX-TAM", "Tamaulipas", "Tamaulipas";
        Tla = "MX-TLA", "Tlaxcala", "Tlaxcala";
        Ver = "MX-VER", "Veracruz", "Veracruz";
        Yuc = "MX-YUC", "Yucatán", "Yucatán";
        Zac = "MX-ZAC", "Zacatecas", "Zacatecas";
    }
}

vocabulary! {
    /// How a complaint arrived.
    Channel {
        Web = "web", "Formulario web", "Web form";
        Api = "api", "API", "API";
        Email = "email", "Correo electrónico", "E-mail";
        WhatsApp = "whatsapp", "WhatsApp", "WhatsApp";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_two_labels() {
        for s in Sector::ALL {
            assert_eq!(Sector::parse(s.code()), Some(*s));
            assert_ne!(s.label(Language::Es), s.code());
        }
        for v in Violation::ALL {
            assert_eq!(Violation::parse(v.code()), Some(*v));
            assert!(!v.label(Language::En).is_empty());
        }
        assert_eq!(StateCode::ALL.len(), 32);
        assert_eq!(Sector::ALL.len(), 24);
        assert_eq!(Violation::ALL.len(), 20);
    }
}
